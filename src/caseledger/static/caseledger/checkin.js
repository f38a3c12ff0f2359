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
 * [data-burst-form]: the check-in with the liveness burst. The camera preview starts at once
 * (mirrored on screen, as people expect; the frames themselves are not mirrored). On "Start":
 * the device location is asked for once; the server's challenge is fetched (its prompts are
 * chosen by the server, single use, two minutes); the burst is recorded: the first frame
 * before the first prompt is shown (the head at rest), then each prompt in large words while
 * frames are drawn into a canvas at most max_side pixels wide, about 3 a second, under two
 * seconds; the frames go into the hidden multiple file input "frames" and the form is
 * submitted as an ordinary multipart POST with the challenge id. Without a camera (or without
 * the browser features needed) a message says what to do instead.
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

  function setUpBurst(form) {
    var camera = form.querySelector("[data-burst-camera]");
    var video = camera.querySelector("video");
    var promptBox = form.querySelector("[data-prompt]");
    var start = form.querySelector("[data-start]");
    var noCamera = form.querySelector("[data-no-camera]");
    var status = form.querySelector("[data-checkin-status]");
    var framesInput = form.querySelector("input[name=frames]");
    var stream = null;
    var busy = false;
    var submissionId = newSubmissionId(); // one per page: a second send is seen as a replay

    function showNoCamera() {
      stop();
      camera.hidden = true;
      start.hidden = true;
      noCamera.hidden = false;
      say(status, "");
    }

    function stop() {
      if (stream) {
        stream.getTracks().forEach(function (track) { track.stop(); });
        stream = null;
      }
    }

    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.fetch ||
        typeof DataTransfer === "undefined" || typeof Promise === "undefined") {
      showNoCamera();
      return;
    }

    function locate() {
      return new Promise(function (resolve, reject) {
        if (!navigator.geolocation) {
          reject(new Error(form.dataset.msgNoLocation));
          return;
        }
        navigator.geolocation.getCurrentPosition(resolve, function (error) {
          reject(new Error(error.code === 1 ? form.dataset.msgDenied : form.dataset.msgNoLocation));
        }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 0 });
      });
    }

    function fetchChallenge() {
      return fetch(form.dataset.challengeUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "X-CSRFToken": form.elements.csrfmiddlewaretoken.value,
          "Accept": "application/json"
        }
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          if (!response.ok || !body.id) {
            throw new Error(body.message || form.dataset.msgNoChallenge);
          }
          return body;
        });
      });
    }

    function grab(maxSide) {
      var width = video.videoWidth;
      var height = video.videoHeight;
      if (!width || !height) return Promise.reject(new Error(form.dataset.msgNotReady));
      var scale = Math.min(1, maxSide / Math.max(width, height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.round(width * scale);
      canvas.height = Math.round(height * scale);
      // Drawn as the camera delivers it: not mirrored (only the preview is).
      canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
      return new Promise(function (resolve, reject) {
        canvas.toBlob(function (blob) {
          if (blob) resolve(blob); else reject(new Error(form.dataset.msgNotReady));
        }, "image/jpeg", 0.85);
      });
    }

    function record(challenge) {
      return new Promise(function (resolve, reject) {
        var shots = [];
        var taken = 0;
        function shoot() {
          shots.push(grab(challenge.max_side));
          var prompt = challenge.prompt_after_frames.indexOf(taken);
          if (prompt >= 0 && prompt < challenge.instructions.length) {
            promptBox.textContent = challenge.instructions[prompt];
          }
          taken += 1;
          if (taken < challenge.frames) {
            window.setTimeout(shoot, challenge.interval_ms);
          } else {
            Promise.all(shots).then(resolve, reject);
          }
        }
        shoot();
      });
    }

    function send(challenge, position, blobs) {
      var transfer = new DataTransfer();
      blobs.forEach(function (blob, k) {
        transfer.items.add(new File([blob], "frame-" + (k + 1) + ".jpg", { type: "image/jpeg" }));
      });
      framesInput.files = transfer.files;
      var coords = position.coords;
      form.elements.challenge_id.value = challenge.id;
      form.elements.latitude.value = coords.latitude.toFixed(6);
      form.elements.longitude.value = coords.longitude.toFixed(6);
      // A reported accuracy of 0 m is not physical; at least 1 m.
      form.elements.accuracy.value = String(Math.max(1, Math.ceil(coords.accuracy || 0)));
      form.elements.submission_id.value = submissionId;
      promptBox.textContent = "";
      say(status, form.dataset.msgSending);
      stop();
      form.submit();
    }

    start.addEventListener("click", function () {
      if (busy) return;
      busy = true;
      start.disabled = true;
      say(status, form.dataset.msgLocating);
      var position = null;
      locate().then(function (found) {
        position = found;
        return fetchChallenge();
      }).then(function (challenge) {
        say(status, form.dataset.msgStarting);
        // The prompt and the preview in view (the Start button sits below them on a phone).
        if (camera.scrollIntoView) camera.scrollIntoView({ block: "start" });
        return record(challenge).then(function (blobs) { send(challenge, position, blobs); });
      }).catch(function (error) {
        busy = false;
        start.disabled = false;
        promptBox.textContent = "";
        say(status, (error && error.message) || form.dataset.msgNoChallenge, true);
      });
    });

    navigator.mediaDevices.getUserMedia({
      video: { facingMode: "user", width: { ideal: 640 }, height: { ideal: 480 } },
      audio: false
    }).then(function (s) {
      stream = s;
      video.srcObject = s;
      camera.hidden = false;
      start.hidden = false;
      say(status, form.dataset.msgReady);
      video.play().catch(function () { /* autoplay starts it; a refused play() is harmless */ });
    }, showNoCamera);
    window.addEventListener("pagehide", stop);
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
  document.querySelectorAll("[data-burst-form]").forEach(setUpBurst);
})();
