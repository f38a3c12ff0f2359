/*
 * Camera capture and the check-in submission (no inline script, no CDN).
 *
 * [data-camera]: a live preview (getUserMedia); "Take photo" draws the frame to a canvas and
 * puts the JPEG into the file input named by data-input, so the form stays an ordinary
 * multipart POST. Without a camera, the file input (accept="image/*" capture="user") is used.
 *
 * [data-checkin-form]: on "Send check-in", the device location is asked for once
 * (high accuracy, with a time limit) and put in the hidden latitude/longitude/accuracy fields
 * with a random submission id; then the form is submitted. The location is read only here,
 * only at that moment.
 *
 * [data-focus-result]: the page that answers a check-in (the receipt, or the refusal) marks its
 * result (a heading with tabindex="-1"); focus moves there when the page loads, so a screen
 * reader or keyboard user starts at what happened, not at the top of the page.
 *
 * Texts come from data-msg-* attributes, already translated by the page.
 */
(function () {
  "use strict";

  function say(element, text, isError) {
    if (!element) return;
    element.textContent = text || "";
    element.classList.toggle("text-secondary-dark", Boolean(isError));
  }

  function newSubmissionId() {
    if (window.crypto && typeof window.crypto.randomUUID === "function") {
      return window.crypto.randomUUID();
    }
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join("-");
  }

  function setUpCamera(root) {
    var input = document.getElementById(root.dataset.input);
    var video = root.querySelector("video");
    var preview = root.querySelector("img");
    var take = root.querySelector("[data-take]");
    var again = root.querySelector("[data-retake]");
    var status = root.parentNode.querySelector("[data-camera-status]");
    var stream = null;
    var previewUrl = null;
    if (!input || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia ||
        typeof DataTransfer === "undefined") {
      return; // the file input alone does the job
    }

    function stop() {
      if (stream) {
        stream.getTracks().forEach(function (track) { track.stop(); });
        stream = null;
      }
    }

    function showPreview(blob) {
      if (previewUrl) URL.revokeObjectURL(previewUrl);
      previewUrl = URL.createObjectURL(blob);
      preview.src = previewUrl;
      preview.hidden = false;
      video.hidden = true;
      take.hidden = true;
      again.hidden = false;
    }

    function start() {
      return navigator.mediaDevices.getUserMedia({
        video: {
          facingMode: root.dataset.facing || "user",
          width: { ideal: 1280 },
          height: { ideal: 960 }
        },
        audio: false
      }).then(function (s) {
        stream = s;
        video.srcObject = s;
        root.hidden = false;
        video.hidden = false;
        preview.hidden = true;
        take.hidden = false;
        again.hidden = true;
        say(status, root.dataset.msgReady);
        return video.play();
      }).catch(function () {
        stop();
        root.hidden = true;
        say(status, root.dataset.msgNoCamera);
      });
    }

    take.addEventListener("click", function () {
      var width = video.videoWidth;
      var height = video.videoHeight;
      if (!width || !height) {
        say(status, root.dataset.msgNotReady, true);
        return;
      }
      var canvas = document.createElement("canvas");
      canvas.width = width;
      canvas.height = height;
      canvas.getContext("2d").drawImage(video, 0, 0, width, height);
      canvas.toBlob(function (blob) {
        if (!blob) {
          say(status, root.dataset.msgNotReady, true);
          return;
        }
        var transfer = new DataTransfer();
        transfer.items.add(new File([blob], "photo.jpg", { type: "image/jpeg" }));
        input.files = transfer.files;
        stop();
        showPreview(blob);
        say(status, root.dataset.msgTaken);
        again.focus();
      }, "image/jpeg", 0.92);
    });

    again.addEventListener("click", function () {
      input.value = "";
      start().then(function () { take.focus(); });
    });

    input.addEventListener("change", function () {
      if (input.files && input.files.length) {
        stop();
        showPreview(input.files[0]);
        say(status, root.dataset.msgChosen);
      }
    });

    window.addEventListener("pagehide", stop);
    start();
  }

  function setUpCheckIn(form) {
    var status = form.querySelector("[data-checkin-status]");
    var button = form.querySelector("[data-submit]");
    var image = form.elements.image;
    var sending = false;
    var submissionId = newSubmissionId(); // one per page: a second send is seen as a replay

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (sending) return;
      if (!image.files || !image.files.length) {
        say(status, form.dataset.msgNoPhoto, true);
        return;
      }
      if (!navigator.geolocation) {
        say(status, form.dataset.msgNoLocation, true);
        return;
      }
      sending = true;
      button.disabled = true;
      say(status, form.dataset.msgLocating);
      navigator.geolocation.getCurrentPosition(function (position) {
        var coords = position.coords;
        form.elements.latitude.value = coords.latitude.toFixed(6);
        form.elements.longitude.value = coords.longitude.toFixed(6);
        // A reported accuracy of 0 m is not physical; at least 1 m.
        form.elements.accuracy.value = String(Math.max(1, Math.ceil(coords.accuracy || 0)));
        form.elements.submission_id.value = submissionId;
        say(status, form.dataset.msgSending);
        form.submit();
      }, function (error) {
        sending = false;
        button.disabled = false;
        say(status, error.code === 1 ? form.dataset.msgDenied : form.dataset.msgNoLocation, true);
      }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
    });
  }

  function focusResult() {
    var result = document.querySelector("[data-focus-result]");
    if (!result) return;
    if (!result.hasAttribute("tabindex")) result.setAttribute("tabindex", "-1");
    result.focus();
  }

  focusResult();
  document.querySelectorAll("[data-camera]").forEach(setUpCamera);
  document.querySelectorAll("[data-checkin-form]").forEach(setUpCheckIn);
})();
