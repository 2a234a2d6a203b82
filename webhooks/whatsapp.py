"""WhatsApp via Twilio.

Inbound: POST /webhooks/twilio/whatsapp (signed). Each MessageSid is processed once: it is
the resident message's external_id, and a repeated delivery is answered from what was stored
the first time (Twilio only repeats a webhook when it did not get our answer). Replies go back
as TwiML. Rasa's buttons become numbered lines; "2", "twee" or the choice's words are mapped
back to the button's payload.

Outbound (a staff reply from the inbox, a late bot answer, a follow-up): the REST API. Inside
WhatsApp's 24-hour window as free text; outside it the approved template
(WHATSAPP_TEMPLATE_SID) invites the resident to answer, and the message is held until they do.
Every message of ours, in TwiML or by REST, carries a status callback
(POST /webhooks/twilio/whatsapp/status?message=<id>&attempt=<n>), and conversations/outbox.py
keeps how far it got: held, queued, sent, delivered, read, or failed (held again once).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import timedelta
from urllib.parse import urlencode

from flask import Blueprint, Flask, Response, current_app, g, request
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from twilio.twiml.messaging_response import MessagingResponse

from conversations import outbox
from conversations.addresses import latest_open_conversation, normalise_address, resident_address, set_resident_address
from conversations.models import (
    BotDelivery,
    Conversation,
    Delivery,
    Message,
    Sender,
    as_utc,
    claim_first_delivery,
    utcnow,
)
from core.config import Settings
from webhooks.choices import match_choice, payload_of, pending_choices
from webhooks.twilio_rest import twilio_client
from webhooks.twilio_security import form_text, twilio_signed

log = logging.getLogger(__name__)

bp = Blueprint("twilio_whatsapp", __name__, url_prefix="/webhooks/twilio/whatsapp")

# Twilio accepts up to 1600 characters in one WhatsApp body; shorter parts also read better.
CHUNK_CHARS = 1200
# Free text is allowed until 24 hours after the resident's last message; keep a margin.
WINDOW = timedelta(hours=23, minutes=50)

_UNREADABLE = re.compile("[\ufffd\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MD_BOLD = re.compile(r"\*\*(.+?)\*\*")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


# --- replies ------------------------------------------------------------------------------

_SPLITS = ((r"\n\s*\n", "\n\n"), (r"\n", "\n"), (r"(?<=[.!?])\s+", " "), (r"\s+", " "))


def split_message(text: str, limit: int = CHUNK_CHARS, level: int = 0) -> list[str]:
    """Long text in parts of at most `limit` characters, cut between paragraphs, then lines,
    then sentences, then words; inside a word only when one word is longer than a part."""
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    if level >= len(_SPLITS):
        return [text[i : i + limit] for i in range(0, len(text), limit)]
    pattern, joiner = _SPLITS[level]
    parts, current = [], ""
    for piece in re.split(pattern, text):
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        current = piece
    if current:
        parts.append(current)
    result = []
    for part in parts:
        result += split_message(part, limit, level + 1) if len(part) > limit else [part.strip()]
    return [p for p in result if p]


def render_choices(buttons: list[dict]) -> str:
    lines = [f"{number}. {button['title']}" for number, button in enumerate(buttons, 1)]
    return "\n".join(lines) + "\n\nStuur het nummer van uw keuze."


def whatsapp_texts(message: Message) -> list[str]:
    """One stored reply as WhatsApp bodies: WhatsApp's own *bold*, links written out,
    choices as numbered lines after the text."""
    text = _MD_LINK.sub(r"\1: \2", _MD_BOLD.sub(r"*\1*", message.text or ""))
    buttons = [b for b in (message.buttons or []) if b.get("title")]
    parts = split_message(text)
    if buttons:
        choices = render_choices(buttons)
        if parts and len(parts[-1]) + 2 + len(choices) <= CHUNK_CHARS:
            parts[-1] = f"{parts[-1]}\n\n{choices}"
        else:
            parts += split_message(choices)
    return parts


# What one answer to the resident holds: texts of ours that are not stored ("Uw bericht is
# leeg") and stored messages of ours, whose delivery the outbox follows.
Reply = str | Message


def status_url(settings: Settings, message: Message, attempt: int) -> str:
    query = urlencode({"message": message.id, "attempt": attempt})
    return f"{settings.public_base_url.rstrip('/')}{bp.url_prefix}/status?{query}"


def _twiml(replies: list[Reply], *, again: bool = False) -> Response:
    """The TwiML answer. Our stored messages in it are claimed for it first (outbox.claim):
    one that another answer or a REST call took meanwhile is left to that one. again: a
    repeated webhook, whose earlier answer Twilio did not get."""
    claimed_here = g.setdefault("outbox_claimed", {})
    bodies = {reply.id: whatsapp_texts(reply) for reply in replies if isinstance(reply, Message)}
    fresh = []
    for reply in replies:
        if isinstance(reply, Message) and reply.id not in claimed_here:
            if bodies[reply.id]:
                fresh.append(reply)
            else:
                reply.delivery = Delivery.INTERNAL  # nothing to say on WhatsApp (a bot payload only)
    claimed_here.update({m.id: m for m in outbox.claim(g.db, fresh, again=again)})
    response = MessagingResponse()
    for reply in replies:
        if isinstance(reply, str):
            response.message(reply)
        elif reply.id in claimed_here:
            url = status_url(_settings(), reply, reply.delivery_attempts)
            for text in bodies[reply.id]:
                response.message(text, action=url, method="POST")
    g.db.commit()
    return Response(str(response), mimetype="application/xml")


# --- inbound ------------------------------------------------------------------------------


def _settings() -> Settings:
    return current_app.config["IAD_SETTINGS"]


def _media_kind(form) -> str | None:
    try:
        count = int(form.get("NumMedia", "0") or 0)
    except ValueError:
        count = 0
    if count <= 0:
        return None
    content_type = (form.get("MediaContentType0") or "").lower()
    for prefix, kind in (("audio/", "audio"), ("image/", "image"), ("video/", "video")):
        if content_type.startswith(prefix):
            return kind
    return "file"


def _media_reply(kind: str, settings: Settings) -> tuple[str, str]:
    """(note stored as the resident's message, reply)."""
    if kind == "location":
        return "(locatie gedeeld)", "Ik kan een locatie niet gebruiken. Typ de naam van uw wijk of woonplaats."
    if kind == "audio":
        return "(spraakbericht gestuurd)", (
            "Ik kan geen spraakberichten luisteren. Typ uw vraag in een paar woorden. "
            f"Liever praten? Bel {settings.loket_phone} ({settings.loket_hours})."
        )
    note = {"image": "(foto gestuurd)", "video": "(video gestuurd)"}.get(kind, "(bestand gestuurd)")
    return note, (
        "Ik kan geen foto's of bestanden bekijken. Typ uw vraag in een paar woorden. "
        "Stuur liever geen foto van een brief: daar staan vaak persoonlijke gegevens op."
    )


def _stored_replies(conversation: Conversation, external_id: str) -> list[Message] | None:
    earlier = g.db.scalar(
        select(Message).where(Message.conversation_id == conversation.id, Message.external_id == external_id)
    )
    if earlier is None:
        return None
    return list(g.db.scalars(select(Message).where(Message.in_reply_to == earlier.id).order_by(Message.id)))


def _store_without_bot(conversation: Conversation, sid: str, note: str, reply: str) -> list[Message]:
    """A message the bot cannot read (media, location): kept for staff, answered by us."""
    stored = _stored_replies(conversation, sid)
    if stored is not None:
        return stored
    message = Message(
        conversation=conversation,
        sender=Sender.RESIDENT,
        text=note,
        external_id=sid,
        bot_delivery=BotDelivery.NOT_FOR_BOT,
    )
    conversation.last_resident_message_at = utcnow()
    g.db.add(message)
    g.db.flush()
    answer = Message(conversation=conversation, sender=Sender.SYSTEM, text=reply, in_reply_to=message.id)
    g.db.add(answer)
    g.db.commit()
    return [answer]


def _clean(text: str) -> str:
    return _UNREADABLE.sub("", text or "").strip()


@bp.post("")
@twilio_signed
def inbound():
    settings = _settings()
    form = request.form
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    sender = form.get("From", "")
    if not re.fullmatch(r"[A-Za-z0-9]{10,40}", sid) or normalise_address(sender) is None:
        # Twilio always sends both; without them there is no one to answer.
        return Response("MessageSid en From zijn verplicht.", status=400, mimetype="text/plain")
    try:
        return _inbound(settings, form, sid, sender)
    except Exception:  # the resident gets a clear answer, never Twilio's silence after a 500
        log.exception("WhatsApp message %s failed", sid)
        g.db.rollback()
        # What this request had claimed goes with the next answer instead.
        outbox.release(g.db, g.pop("outbox_claimed", {}).values())
        return _twiml(
            [
                "Er ging iets mis aan onze kant. Uw bericht is misschien niet aangekomen. "
                f"Probeer het later nog eens, of bel {settings.loket_phone} ({settings.loket_hours})."
            ]
        )


def _inbound(settings: Settings, form, sid: str, sender: str) -> Response:
    front_door = current_app.extensions["front_door"]
    conversation = latest_open_conversation(g.db, settings, "whatsapp", sender)
    # Our messages that did not reach the resident yet go out first, with this answer: claimed
    # now, so that a second message of the resident at the same moment does not carry them too.
    texts: list[Reply] = []
    if conversation is not None:
        earlier = outbox.claim(g.db, outbox.held(g.db, conversation))
        g.outbox_claimed = {m.id: m for m in earlier}
        texts += earlier

    body = _clean(form_text("Body") or form_text("ButtonText"))
    media = _media_kind(form)
    if form.get("Latitude") and form.get("Longitude"):
        media = "location"  # the coordinates are not stored: the bot cannot use them
        body = ""

    # Nothing to keep: answered without opening a conversation for it.
    if not media and not body:
        if form_text("Body").strip():  # only unreadable characters
            return _twiml(texts + ["Ik kon uw bericht niet lezen. Wilt u het opnieuw typen?"])
        return _twiml(texts + ["Uw bericht is leeg. Typ uw vraag in een paar woorden."])
    if len(body) > settings.max_message_chars:
        return _twiml(
            texts
            + [f"Uw bericht is te lang. Stuur het in kortere delen, van hoogstens {settings.max_message_chars} tekens."]
        )

    if conversation is None:
        if not claim_first_delivery(g.db, "whatsapp", sid):
            # The same first message, delivered twice at once (or again): the other request
            # opened the conversation and answers; a later repeat is answered from the store.
            conversation = latest_open_conversation(g.db, settings, "whatsapp", sender)
            stored = _stored_replies(conversation, sid) if conversation is not None else None
            return _twiml(list(stored or []), again=True)
        conversation = front_door.start_conversation(g.db, "whatsapp")
        set_resident_address(settings, conversation, sender)
        g.db.commit()
        texts.append(
            f"U chat met de digitale assistent van {settings.loket_name}. Deel hier geen BSN of rekeningnummer."
        )

    if media and not body:
        note, reply = _media_reply(media, settings)
        return _twiml(texts + list(_store_without_bot(conversation, sid, note, reply)))

    choice = match_choice(body, pending_choices(g.db, conversation))
    text_for_bot = payload_of(choice) if choice else body
    try:
        outcome = front_door.receive(g.db, conversation, text_for_bot, external_id=sid)
    except IntegrityError:
        # The same MessageSid is being handled right now by another request: that one answers.
        g.db.rollback()
        return _twiml([])
    replies = list(outcome.replies)
    if media:  # a photo with a caption: the caption was answered, the photo was not seen
        caption_note = Message(
            conversation=conversation,
            sender=Sender.SYSTEM,
            text=_media_reply(media, settings)[1],
            in_reply_to=outcome.message.id,
        )
        if not outcome.duplicate:
            g.db.add(caption_note)
            g.db.commit()
            replies.append(caption_note)
    return _twiml(texts + replies, again=outcome.duplicate)


@bp.post("/status")
@twilio_signed
def status_callback():
    """Delivery reports for our messages, sent in TwiML or with the REST API."""
    try:
        _record_delivery_report()
    except Exception:  # logged, not bounced back to Twilio
        log.exception("WhatsApp status callback failed")
        g.db.rollback()
    return Response(status=204)


def _record_delivery_report() -> None:
    status = request.form.get("MessageStatus", "")
    our_id, attempt = request.args.get("message", ""), request.args.get("attempt", "")
    if re.fullmatch(r"[0-9]{1,18}", our_id):
        message = g.db.get(Message, int(our_id))
    else:  # a callback URL from before attempts were counted: found by Twilio's id
        sid = request.form.get("MessageSid", "")
        message = g.db.scalar(select(Message).where(Message.external_id == sid)) if sid else None
    if message is None or message.sender == Sender.RESIDENT or message.conversation.channel != "whatsapp":
        return
    number = int(attempt) if re.fullmatch(r"[0-9]{1,6}", attempt) else None
    outbox.record_status(g.db, message, status, request.form.get("ErrorCode", ""), number)
    g.db.commit()


# --- outbound -----------------------------------------------------------------------------


def in_window(conversation: Conversation) -> bool:
    last = conversation.last_resident_message_at
    return last is not None and utcnow() - as_utc(last) < WINDOW


def make_sender(settings: Settings):
    def send_whatsapp(session, conversation: Conversation, message: Message) -> None:
        """By the REST API inside the 24-hour window: older held messages first, each reserved
        before Twilio hears of it. Outside the window the approved template invites the
        resident to answer (once until they do) and the messages stay held for that answer."""
        number = resident_address(settings, conversation)
        if number is None:
            raise RuntimeError("geen (leesbaar) WhatsApp-nummer bij dit gesprek")
        client = twilio_client(settings)
        if in_window(conversation):
            waiting = [m for m in outbox.held(session, conversation) if m.id < message.id]
            for each in [*waiting, message]:
                if not whatsapp_texts(each):
                    each.delivery = Delivery.INTERNAL  # nothing to say on WhatsApp (a bot payload only)
                    session.commit()
                    continue
                attempt = outbox.reserve(session, each)
                if attempt is None:
                    continue  # another answer or call has it
                common = dict(
                    from_=settings.twilio_whatsapp_from,
                    to=f"whatsapp:{number}",
                    status_callback=status_url(settings, each, attempt),
                )
                try:
                    sids = [client.messages.create(body=part, **common).sid for part in whatsapp_texts(each)]
                except Exception:
                    outbox.not_sent(session, each, attempt)
                    raise
                outbox.sent(session, each, attempt, sids[0] if sids else None)
            return
        if not settings.whatsapp_template_sid:
            raise RuntimeError(
                "buiten het 24-uursvenster van WhatsApp en geen WHATSAPP_TEMPLATE_SID ingesteld; "
                "het bericht gaat mee zodra de inwoner weer iets stuurt"
            )
        # The template only invites the resident to answer; the text itself waits (held)
        # until they do, because WhatsApp allows no free text outside the window.
        # One invitation per silence, taken with a conditional UPDATE: the worker and an inbox
        # reply at the same moment do not both send one.
        previous = conversation.invited_at
        taken = session.execute(
            update(Conversation)
            .where(
                Conversation.id == conversation.id,
                Conversation.invited_at.is_(None) | (Conversation.invited_at <= Conversation.last_resident_message_at),
            )
            .values(invited_at=utcnow())
            .execution_options(synchronize_session=False)
        ).rowcount
        session.commit()
        if not taken:
            return  # invited already since they last wrote: one invitation is enough
        try:
            client.messages.create(
                content_sid=settings.whatsapp_template_sid,
                content_variables=json.dumps({"1": settings.loket_name}),
                from_=settings.twilio_whatsapp_from,
                to=f"whatsapp:{number}",
            )
        except Exception:
            session.execute(update(Conversation).where(Conversation.id == conversation.id).values(invited_at=previous))
            session.commit()  # no invitation went out: the next message may try again
            raise
        session.refresh(conversation)
        session.add(
            outbox.note(
                message,
                "Buiten het 24-uursvenster van WhatsApp: de inwoner kreeg een uitnodiging om te antwoorden. "
                "Het bericht volgt zodra de inwoner antwoordt.",
            )
        )
        session.flush()

    return send_whatsapp


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.extensions["outbound"].register("whatsapp", make_sender(app.config["IAD_SETTINGS"]))
