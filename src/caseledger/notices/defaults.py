"""The reminder texts shipped with the release (English and Spanish, email and SMS).

Loaded by the data migration `0002_default_templates` as approved version 1 of each
(kind, language, channel). A later change is made as a new draft through
`services.draft_template` and takes effect when a privacy officer approves it; do not edit
these texts to change a running system (a fresh database would differ from the ledger's
record of what was approved).
"""

from __future__ import annotations

EOIR_INFO_EN = (
    "You can check your hearing at https://acis.eoir.justice.gov/en/ or by calling "
    "1-800-898-7180. If this reminder and the court's notice differ, the court's notice counts."
)
EOIR_INFO_ES = (
    "Puede consultar su audiencia en https://acis.eoir.justice.gov/es/ o llamando al "
    "1-800-898-7180. Si este recordatorio y el aviso de la corte no coinciden, vale el aviso "
    "de la corte."
)
BRING_EN = (
    "What to bring:\n"
    "- your Notice of Hearing\n"
    "- a photo identity document (passport, consular ID or other ID)\n"
    "- the documents for your case, with copies"
)
BRING_ES = (
    "Qué traer:\n"
    "- su Aviso de Audiencia (Notice of Hearing)\n"
    "- un documento de identidad con foto (pasaporte, matrícula consular u otro)\n"
    "- los documentos de su caso, con copias"
)
REACH_EN = (
    "Questions, or you cannot come? Call your officer, {officer_name}, at {office_name}: "
    "{office_phone}."
)
REACH_ES = (
    "¿Preguntas, o no puede asistir? Llame a su oficial, {officer_name}, en {office_name}: "
    "{office_phone}."
)
FOOTER_EN = (
    "This reminder is about your own case only. To stop email reminders: {opt_out_url}"
)
FOOTER_ES = (
    "Este recordatorio trata solo de su propio caso. Para dejar de recibir recordatorios por "
    "correo: {opt_out_url}"
)
STOP_EN = "Reply STOP to end texts."
STOP_ES = "Responda ALTO para no recibir más mensajes."

# (kind, language, channel) -> (subject, body)
TEMPLATES: dict[tuple[str, str, str], tuple[str, str]] = {
    # --- hearing: the notice at scheduling and the reminders before it --------------------
    ("hearing", "en", "email"): (
        "Your immigration court hearing on {date}",
        "Hello {given_name},\n\n"
        "You have a hearing at the {court_name} on {date} at {time} ({time_zone}), {when}.\n\n"
        f"{BRING_EN}\n\n"
        "Please arrive at least 30 minutes early. If you do not attend, the judge may decide "
        "your case without you (an order \"in absentia\").\n\n"
        f"{REACH_EN}\n\n{EOIR_INFO_EN}\n\n{FOOTER_EN}\n",
    ),
    ("hearing", "es", "email"): (
        "Su audiencia en la corte de inmigración el {date}",
        "Hola {given_name}:\n\n"
        "Tiene una audiencia en la {court_name} el {date} a las {time} ({time_zone}), {when}.\n\n"
        f"{BRING_ES}\n\n"
        "Llegue por lo menos 30 minutos antes. Si no asiste, el juez puede decidir su caso sin "
        "usted (una orden \"in absentia\").\n\n"
        f"{REACH_ES}\n\n{EOIR_INFO_ES}\n\n{FOOTER_ES}\n",
    ),
    ("hearing", "en", "sms"): (
        "",
        "{given_name}: immigration court hearing {date} at {time} {time_zone}, {court_name} "
        "({when}). Bring your hearing notice, photo ID and case documents. Questions: "
        f"{{office_phone}}. {STOP_EN}",
    ),
    ("hearing", "es", "sms"): (
        "",
        "{given_name}: audiencia en la corte de inmigración el {date} a las {time} {time_zone}, "
        "{court_name} ({when}). Traiga su aviso de audiencia, identificación con foto y los "
        f"documentos de su caso. Preguntas: {{office_phone}}. {STOP_ES}",
    ),
    # --- hearing moved -----------------------------------------------------------------------
    ("hearing_moved", "en", "email"): (
        "Your hearing has moved to {date}",
        "Hello {given_name},\n\n"
        "Your immigration court hearing has MOVED.\n"
        "Old date: {old_date} at {old_time}\n"
        "New date: {date} at {time} ({time_zone}), at the {court_name}.\n\n"
        f"{BRING_EN}\n\n{REACH_EN}\n\n{EOIR_INFO_EN}\n\n{FOOTER_EN}\n",
    ),
    ("hearing_moved", "es", "email"): (
        "Su audiencia cambió al {date}",
        "Hola {given_name}:\n\n"
        "Su audiencia en la corte de inmigración CAMBIÓ de fecha.\n"
        "Fecha anterior: {old_date} a las {old_time}\n"
        "Fecha nueva: {date} a las {time} ({time_zone}), en la {court_name}.\n\n"
        f"{BRING_ES}\n\n{REACH_ES}\n\n{EOIR_INFO_ES}\n\n{FOOTER_ES}\n",
    ),
    ("hearing_moved", "en", "sms"): (
        "",
        "{given_name}: your immigration court hearing has MOVED from {old_date} {old_time} to "
        "{date} at {time} {time_zone}, {court_name}. Questions: {office_phone}. " + STOP_EN,
    ),
    ("hearing_moved", "es", "sms"): (
        "",
        "{given_name}: su audiencia en la corte de inmigración CAMBIÓ del {old_date} {old_time} "
        "al {date} a las {time} {time_zone}, {court_name}. Preguntas: {office_phone}. " + STOP_ES,
    ),
    # --- hearing cancelled ---------------------------------------------------------------------
    ("hearing_cancelled", "en", "email"): (
        "Your hearing on {date} is cancelled",
        "Hello {given_name},\n\n"
        "Your immigration court hearing on {date} at {time} ({time_zone}) at the {court_name} "
        "has been CANCELLED. You do not need to go to court that day. If a new hearing is set, "
        "you will receive a new notice.\n\n"
        f"{REACH_EN}\n\n{EOIR_INFO_EN}\n\n{FOOTER_EN}\n",
    ),
    ("hearing_cancelled", "es", "email"): (
        "Su audiencia del {date} fue cancelada",
        "Hola {given_name}:\n\n"
        "Su audiencia en la corte de inmigración del {date} a las {time} ({time_zone}) en la "
        "{court_name} fue CANCELADA. No necesita ir a la corte ese día. Si se fija una nueva "
        "audiencia, recibirá un nuevo aviso.\n\n"
        f"{REACH_ES}\n\n{EOIR_INFO_ES}\n\n{FOOTER_ES}\n",
    ),
    ("hearing_cancelled", "en", "sms"): (
        "",
        "{given_name}: your immigration court hearing on {date} at {time}, {court_name}, is "
        "CANCELLED. You will get a new notice if a new date is set. Questions: {office_phone}. "
        + STOP_EN,
    ),
    ("hearing_cancelled", "es", "sms"): (
        "",
        "{given_name}: su audiencia del {date} a las {time}, {court_name}, fue CANCELADA. "
        "Recibirá un nuevo aviso si se fija otra fecha. Preguntas: {office_phone}. " + STOP_ES,
    ),
    # --- hearing postponed, new date not known -------------------------------------------------
    ("hearing_postponed", "en", "email"): (
        "Your hearing on {old_date} is postponed",
        "Hello {given_name},\n\n"
        "Your immigration court hearing on {old_date} at {old_time} at the {court_name} has been "
        "postponed. The new date is not known yet; you will be told as soon as it is set. "
        "Keep your address and phone number up to date with your officer so that the notice "
        "reaches you.\n\n"
        f"{REACH_EN}\n\n{EOIR_INFO_EN}\n\n{FOOTER_EN}\n",
    ),
    ("hearing_postponed", "es", "email"): (
        "Su audiencia del {old_date} fue aplazada",
        "Hola {given_name}:\n\n"
        "Su audiencia en la corte de inmigración del {old_date} a las {old_time} en la "
        "{court_name} fue aplazada. Todavía no se conoce la nueva fecha; se le avisará en cuanto "
        "se fije. Mantenga su dirección y teléfono al día con su oficial para que el aviso le "
        "llegue.\n\n"
        f"{REACH_ES}\n\n{EOIR_INFO_ES}\n\n{FOOTER_ES}\n",
    ),
    ("hearing_postponed", "en", "sms"): (
        "",
        "{given_name}: your hearing on {old_date} at {old_time}, {court_name}, is postponed. The "
        "new date is not known yet; you will be told when it is set. Questions: {office_phone}. "
        + STOP_EN,
    ),
    ("hearing_postponed", "es", "sms"): (
        "",
        "{given_name}: su audiencia del {old_date} a las {old_time}, {court_name}, fue aplazada. "
        "Aún no hay nueva fecha; se le avisará cuando se fije. Preguntas: {office_phone}. "
        + STOP_ES,
    ),
    # --- check-in windows ----------------------------------------------------------------------
    ("checkin", "en", "email"): (
        "Check-in reminder: {date}",
        "Hello {given_name},\n\n"
        "Your next check-in opens on {date} at {time} ({time_zone}), {when}, and closes on "
        "{closes_date} at {closes_time}.\n\n"
        "Check in through the caseledger portal on your phone. If you cannot check in, call "
        "your officer before the window closes.\n\n"
        f"{REACH_EN}\n\n{FOOTER_EN}\n",
    ),
    ("checkin", "es", "email"): (
        "Recordatorio de registro: {date}",
        "Hola {given_name}:\n\n"
        "Su próximo registro (check-in) abre el {date} a las {time} ({time_zone}), {when}, y "
        "cierra el {closes_date} a las {closes_time}.\n\n"
        "Regístrese en el portal de caseledger desde su teléfono. Si no puede registrarse, llame "
        "a su oficial antes de que cierre el plazo.\n\n"
        f"{REACH_ES}\n\n{FOOTER_ES}\n",
    ),
    ("checkin", "en", "sms"): (
        "",
        "{given_name}: your check-in opens {date} at {time} {time_zone} ({when}) and closes "
        "{closes_date} {closes_time}. Cannot check in? Call {office_phone}. " + STOP_EN,
    ),
    ("checkin", "es", "sms"): (
        "",
        "{given_name}: su registro abre el {date} a las {time} {time_zone} ({when}) y cierra el "
        "{closes_date} {closes_time}. ¿No puede registrarse? Llame al {office_phone}. " + STOP_ES,
    ),
    # --- deadlines -----------------------------------------------------------------------------
    ("deadline", "en", "email"): (
        "Deadline on {date}: {deadline_label}",
        "Hello {given_name},\n\n"
        "A deadline in your case: {deadline_label}, by {date} ({when}).\n\n"
        "If you have a lawyer or representative, talk to them now. Late filings can be "
        "refused.\n\n"
        f"{REACH_EN}\n\n{FOOTER_EN}\n",
    ),
    ("deadline", "es", "email"): (
        "Plazo el {date}: {deadline_label}",
        "Hola {given_name}:\n\n"
        "Un plazo en su caso: {deadline_label}, hasta el {date} ({when}).\n\n"
        "Si tiene abogado o representante, hable con esa persona ahora. Lo que se presenta tarde "
        "puede ser rechazado.\n\n"
        f"{REACH_ES}\n\n{FOOTER_ES}\n",
    ),
    ("deadline", "en", "sms"): (
        "",
        "{given_name}: deadline in your case — {deadline_label}: {date} ({when}). Talk to your "
        "lawyer or call {office_phone}. " + STOP_EN,
    ),
    ("deadline", "es", "sms"): (
        "",
        "{given_name}: plazo en su caso — {deadline_label}: {date} ({when}). Hable con su "
        "abogado o llame al {office_phone}. " + STOP_ES,
    ),
    # --- change of address ----------------------------------------------------------------------
    ("address_change", "en", "email"): (
        "File your change of address (EOIR-33) by {date}",
        "Hello {given_name},\n\n"
        "You changed address. Tell the immigration court with form EOIR-33 by {date} ({when}); "
        "otherwise hearing notices go to your old address.\n\n"
        f"{REACH_EN}\n\n{FOOTER_EN}\n",
    ),
    ("address_change", "es", "email"): (
        "Presente su cambio de dirección (EOIR-33) antes del {date}",
        "Hola {given_name}:\n\n"
        "Usted cambió de dirección. Avise a la corte de inmigración con el formulario EOIR-33 "
        "hasta el {date} ({when}); si no, los avisos de audiencia irán a su dirección "
        "anterior.\n\n"
        f"{REACH_ES}\n\n{FOOTER_ES}\n",
    ),
    ("address_change", "en", "sms"): (
        "",
        "{given_name}: you moved. File form EOIR-33 with the immigration court by {date} "
        "({when}). Questions: {office_phone}. " + STOP_EN,
    ),
    ("address_change", "es", "sms"): (
        "",
        "{given_name}: usted se mudó. Presente el formulario EOIR-33 en la corte de inmigración "
        "hasta el {date} ({when}). Preguntas: {office_phone}. " + STOP_ES,
    ),
    # --- to the officer or representative: a reminder failed (no personal data) ------------------
    ("delivery_failure", "en", "email"): (
        "A reminder could not be delivered",
        "A reminder to a person you are responsible for could not be delivered ({error}).\n\n"
        "Open caseledger to see which reminder it was and how else to reach the person:\n"
        "{alert_url}\n\n"
        "This message deliberately holds no name or contact details.\n",
    ),
    ("delivery_failure", "es", "email"): (
        "No se pudo entregar un recordatorio",
        "No se pudo entregar un recordatorio a una persona a su cargo ({error}).\n\n"
        "Abra caseledger para ver qué recordatorio fue y cómo contactar a la persona de otra "
        "forma:\n{alert_url}\n\n"
        "Este mensaje no contiene nombres ni datos de contacto a propósito.\n",
    ),
}


def seed(apps, schema_editor=None) -> int:  # noqa: ARG001 (migration signature)
    """Create approved version 1 of every shipped template that is missing; idempotent."""
    from django.utils import timezone

    model = apps.get_model("notices", "NoticeTemplate")
    now = timezone.now()
    made = 0
    for (kind, language, channel), (subject, body) in TEMPLATES.items():
        if model.objects.filter(kind=kind, language=language, channel=channel).exists():
            continue
        model.objects.create(
            kind=kind,
            language=language,
            channel=channel,
            subject=subject,
            body=body,
            version=1,
            status="approved",
            shipped=True,
            approved_at=now,
        )
        made += 1
    return made
