"""The phone line (Twilio Voice): a short spoken conversation with the same bot.

Each turn is a <Gather input="speech dtmf" language="nl-NL"> with a Dutch voice. Choices are
read out as keypad digits ("Kies 1 voor ..."); 0 is always "a person", * repeats. Silence or
something we cannot use is answered with a repeat; after two misses in a row, or when the
bot is unreachable, the caller goes to a person: transfer to the loket during its opening
hours, a callback request outside them. A crisis is answered with the number and a <Dial>
to it (112 excepted: Twilio cannot place emergency calls, so we ask the caller to dial it).

The call's state travels in the action URLs (conversation id, turn, misses); they are part of
what Twilio signs, so a caller cannot change them. Turn n of call CA... is stored with
external_id "CA...:n": a repeated webhook is answered from what was stored.
Every Twilio error status makes Twilio speak an English apology, so every answer here is
TwiML with status 200, also when something fails.
"""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, g, request, url_for
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from twilio.twiml.voice_response import Gather, VoiceResponse

from conversations.addresses import normalise_address, set_resident_address
from conversations.front_door import Outcome
from conversations.models import BotDelivery, Conversation, Message, Sender, Status, claim_first_delivery
from core.config import Settings
from core.opening_hours import DAY_CODES, callback_deadline, is_open
from core.timefmt import DAY_WORDS, DAYS, day_and_date
from webhooks.choices import match_choice, normalise, payload_of, pending_choices
from webhooks.settings import ChannelSettings, channel_settings
from webhooks.twilio_security import form_text, twilio_signed

log = logging.getLogger(__name__)

bp = Blueprint("twilio_voice", __name__, url_prefix="/webhooks/twilio/voice")

MAX_MISSES = 2
MAX_SPOKEN_CHARS = 700  # about 45 seconds of speech; longer is too much to hold in mind
MAX_CHOICES = 9  # one keypad digit each; 0 is "a person"

_WANTS_PERSON = re.compile(r"\b(medewerker|mens|iemand spreken|persoon spreken|doorverbinden|operator|echt persoon)\b")
_REPEAT = re.compile(r"^(herhaal|herhalen|nog een keer|nog eens|wat zei u|wat zegt u|sorry)\b")
_YES = re.compile(r"^(ja|jawel|graag|ja graag|ja alstublieft|goed|oke|ok|prima|doe maar)\b")
_NO = re.compile(r"^(nee|neen|niet|nee dank u|hoeft niet|liever niet)\b")


# --- opening hours (core/opening_hours.py) ---------------------------------------------------


def loket_open_now(settings: Settings, cs: ChannelSettings) -> bool:
    return is_open(settings.loket_hours, datetime.now(ZoneInfo(cs.timezone)))


def speak_hours(spec: str) -> str:
    """'ma-vr 08:30-17:00' -> 'maandag tot en met vrijdag, van 8 uur 30 tot 17 uur'."""

    def clock(value: str) -> str:
        hours, minutes = (int(x) for x in re.split(r"[:.]", value))
        return f"{hours} uur" if minutes == 0 else f"{hours} uur {minutes}"

    def days(value: str) -> str:
        out = []
        for part in re.split(r"\s*,\s*", value.strip()):
            ends = [DAYS[DAY_CODES.index(e.strip())] if e.strip() in DAY_CODES else e for e in part.split("-")]
            out.append(" tot en met ".join(ends))
        return " en ".join(out)

    spoken = []
    for segment in filter(None, (s.strip() for s in (spec or "").lower().split(";"))):
        match = re.fullmatch(r"([a-z,\- ]+?)\s+(\d{1,2}[:.]\d{2})\s*-\s*(\d{1,2}[:.]\d{2})", segment)
        spoken.append(
            f"{days(match.group(1))}, van {clock(match.group(2))} tot {clock(match.group(3))}" if match else segment
        )
    return "; ".join(spoken)


# --- speech ---------------------------------------------------------------------------------

_URL = re.compile(r"https?://\S+|www\.\S+")
_MD_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")
_PHONE = re.compile(r"\b0\d{2,3}[- ]\d{4,7}\b|\b0\d{9}\b|\b14 ?0\d{2,3}\b|\b11[23]\b")


def _digits_aloud(match: re.Match) -> str:
    groups = re.split(r"[- ]", match.group(0))
    return ", ".join(" ".join(group) for group in groups if group)


def speakable(text: str, limit: int = MAX_SPOKEN_CHARS) -> str:
    """Text for text-to-speech: no links, markdown or emoji; phone numbers digit by digit;
    cut after a whole sentence when it is too long to listen to."""
    text = _MD_LINK.sub(r"\1", text or "")
    text = _URL.sub("", text)
    text = re.sub(r"^\s*[-•*]\s+", "", text, flags=re.M)
    text = re.sub(r"[*_#>`|]", "", text)
    text = "".join(
        ch for ch in text if unicodedata.category(ch) not in ("So", "Sk", "Cs", "Co", "Cn") and ch != "\ufe0f"
    )
    text = _PHONE.sub(_digits_aloud, text)
    text = re.sub(r"\s*\n+\s*", lambda m: " ", re.sub(r"(?<=[^.!?:,\s])\s*\n", ". ", text))
    text = re.sub(r"\s{2,}", " ", text).strip()
    if len(text) > limit:
        sentences = re.split(r"(?<=[.!?])\s+", text)
        kept = ""
        for sentence in sentences:
            if len(kept) + len(sentence) + 1 > limit:
                break
            kept = f"{kept} {sentence}".strip()
        text = kept or text[:limit]
    return text


# --- TwiML helpers --------------------------------------------------------------------------


class Line:
    """Builds the TwiML for one answer, in the configured Dutch voice."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.cs = channel_settings(settings)
        self.response = VoiceResponse()

    def say(self, text: str, parent=None) -> None:
        spoken = speakable(text)
        if spoken:
            (parent or self.response).say(spoken, voice=self.cs.voice_name, language=self.cs.voice_language)

    def gather(self, action: str, hints: list[str] | None = None) -> Gather:
        return self.response.gather(
            input="speech dtmf",
            language=self.cs.voice_language,
            action=action,
            method="POST",
            timeout=6,
            # Not "auto": that ends at the first short pause, and many callers pause while
            # they look for words. Three seconds of silence ends the answer.
            speech_timeout=3,
            num_digits=1,
            action_on_empty_result=True,
            hints=", ".join(h for h in (hints or []) if h)[:500] or None,
        )

    def twiml(self) -> Response:
        return Response(str(self.response), mimetype="text/xml")


def _settings() -> Settings:
    return current_app.config["IAD_SETTINGS"]


def _opening_prompt(settings: Settings) -> str:
    return "Wat is uw vraag? Zeg het in een paar woorden. Wilt u een medewerker spreken? Druk dan op 0."


def _choices_prompt(choices: list[dict]) -> str:
    return " ".join(f"Kies {n} voor {c['title']}." for n, c in enumerate(choices[:MAX_CHOICES], 1))


def _gather_turn(
    line: Line, conversation: Conversation, turn: int, misses: int, texts: list[str], choices: list[dict]
) -> None:
    """Speaks `texts` (and the choices) inside a Gather, so the caller can answer at once."""
    action = url_for("twilio_voice.gather", c=conversation.id, t=turn, m=misses)
    gather = line.gather(action, hints=[c["title"] for c in choices])
    for text in texts:
        line.say(text, gather)
    if choices:
        line.say(_choices_prompt(choices), gather)


def _last_prompt(conversation: Conversation) -> list[str]:
    """What we said since the caller last spoke: repeated after silence."""
    last_resident = g.db.scalar(
        select(Message.id)
        .where(Message.conversation_id == conversation.id, Message.sender == Sender.RESIDENT)
        .order_by(Message.id.desc())
        .limit(1)
    )
    said = g.db.scalars(
        select(Message)
        .where(
            Message.conversation_id == conversation.id,
            Message.id > (last_resident or 0),
            Message.sender.in_([Sender.BOT, Sender.SYSTEM]),
        )
        .order_by(Message.id)
    ).all()
    # System lines without in_reply_to are notes for staff (see _note), never spoken.
    texts = [m.text for m in said if m.text and (m.sender == Sender.BOT or m.in_reply_to is not None)]
    return texts or [_opening_prompt(_settings())]


def _note(conversation: Conversation, text: str, external_id: str | None = None) -> None:
    """A system line in the transcript, for staff (not spoken). Not again on a repeated webhook."""
    if g.get("voice_replay"):
        return
    g.db.add(Message(conversation_id=conversation.id, sender=Sender.SYSTEM, text=text, external_id=external_id))


def _apology(settings: Settings) -> Response:
    line = Line(settings)
    line.say(
        f"Er ging iets mis aan onze kant. Bel het loket op {settings.loket_phone}. "
        "Bij direct gevaar: bel 1 1 2. Tot ziens."
    )
    line.response.hangup()
    return line.twiml()


def _conversation_from_query() -> Conversation | None:
    cid = request.args.get("c", "")
    if not re.fullmatch(r"[0-9a-f]{32}", cid):
        return None
    conversation = g.db.get(Conversation, cid)
    return conversation if conversation is not None and conversation.channel == "voice" else None


def _int_arg(name: str) -> int:
    value = request.args.get(name, "0")
    return int(value) if value.isdigit() and len(value) < 6 else 0


def _safe(view):
    """Voice answers are always TwiML: an error status would make Twilio apologise in English."""

    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except Exception:
            log.exception("voice webhook %s failed", request.path)
            g.db.rollback()
            return _apology(_settings())

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# --- handover: a person, now or later -------------------------------------------------------


def _callback_marker(call_sid: str) -> str:
    """The external id of a call's callback request (one per call)."""
    return f"callback:{call_sid}"[:64]


def _noted(conversation: Conversation, external_id: str) -> bool:
    return (
        g.db.scalar(
            select(Message.id).where(Message.conversation_id == conversation.id, Message.external_id == external_id)
        )
        is not None
    )


def request_callback(conversation: Conversation, reason: str, now: datetime) -> datetime | None:
    """The caller said yes to a callback: a note on the conversation and, through the
    handler the inbox registers (app.extensions["callback_requests"]), a ticket due by the
    end of the loket's next opening window after `now` (loket time). Returns that deadline,
    to say it. A repeated request (Twilio retried) changes nothing."""
    due = callback_deadline(_settings().loket_hours, now)
    call_sid = request.form.get("CallSid", "")
    external_id = _callback_marker(call_sid) if call_sid else None
    if external_id and _noted(conversation, external_id):
        return due
    _note(
        conversation,
        f"Terugbelverzoek: de inwoner wil teruggebeld worden op het nummer van dit gesprek. Reden: {reason}.",
        external_id=external_id,
    )
    handler = current_app.extensions.get("callback_requests")
    if handler is not None:
        handler(g.db, conversation, reason, due_at=due)
    g.db.commit()
    return due


def speak_deadline(due: datetime | None, now: datetime) -> str:
    """'vandaag vóór 17 uur', 'morgen vóór 12 uur 30', 'op maandag 24 november, vóór 17 uur'."""
    if due is None:
        return "op de eerstvolgende werkdag"
    clock = f"{due.hour} uur" if due.minute == 0 else f"{due.hour} uur {due.minute}"
    ahead = (due.date() - now.date()).days
    if ahead in (0, 1):
        return f"{DAY_WORDS['today' if ahead == 0 else 'tomorrow']} vóór {clock}"
    return f"op {day_and_date(due)}, vóór {clock}"


def _handover(line: Line, conversation: Conversation, reason: str) -> None:
    settings = line.settings
    if loket_open_now(settings, line.cs):
        line.say("Ik verbind u door met een medewerker van het loket. Een moment alstublieft.")
        _note(conversation, f"Doorverbonden met het loket ({line.cs.loket_transfer_number}). Reden: {reason}.")
        g.db.commit()
        dial = line.response.dial(
            action=url_for("twilio_voice.after_dial", c=conversation.id, kind="loket"), method="POST", timeout=30
        )
        dial.number(line.cs.loket_transfer_number)
        return
    _offer_callback(line, conversation, reason, misses=0)


def _offer_callback(line: Line, conversation: Conversation, reason: str, misses: int, intro: bool = True) -> None:
    settings = line.settings
    hours = speak_hours(settings.loket_hours)
    if conversation.resident_address_hash is None:  # hidden number: we cannot call back
        line.say(
            f"Het loket is nu gesloten. Bel ons op {settings.loket_phone}. Het loket is open op {hours}. "
            "Bij direct gevaar: bel 1 1 2. Tot ziens."
        )
        line.response.hangup()
        return
    gather = line.gather(
        url_for("twilio_voice.callback", c=conversation.id, m=misses, r=reason[:80]), hints=["ja", "nee"]
    )
    if intro:
        line.say(f"Het loket is nu gesloten. Het loket is open op {hours}.", gather)
    line.say(
        "Wilt u dat we u terugbellen op dit nummer? Dan ziet een medewerker uw nummer en waar uw vraag over gaat. "
        "Zeg ja of druk 1. Zeg nee of druk 2.",
        gather,
    )


def _crisis(line: Line, conversation: Conversation, code: str, text: str) -> None:
    line.say(text)
    number = line.cs.crisis_dial.get(code)
    if not number:  # acuut gevaar: 112 cannot be dialled through Twilio
        line.say("Hang nu op en bel 1 1 2. Ik zeg het nog een keer: hang op en bel 1 1 2.")
        _note(conversation, "Crisis (acuut gevaar): de beller is gevraagd zelf 112 te bellen.")
        g.db.commit()
        line.response.hangup()
        return
    line.say("Ik verbind u nu door. Blijf aan de lijn.")
    _note(conversation, f"Crisis ({code}): doorverbonden met {number}.")
    g.db.commit()
    dial = line.response.dial(
        action=url_for("twilio_voice.after_dial", c=conversation.id, kind=code), method="POST", timeout=40
    )
    dial.number(number)


# --- webhooks -------------------------------------------------------------------------------


@bp.post("")
@twilio_signed
@_safe
def incoming_call():
    """A new call: a conversation for it, and the first question."""
    settings = _settings()
    call_sid = request.form.get("CallSid", "")
    if not re.fullmatch(r"[A-Za-z0-9]{10,40}", call_sid):
        return _apology(settings)
    marker = f"call:{call_sid}"
    started = _call_started(marker)
    if started is None and not claim_first_delivery(g.db, "voice", call_sid):
        # The same call delivered twice at once: the other request is opening its conversation.
        started = _call_started(marker, wait_seconds=3)
        if started is None:
            return _apology(settings)
    if started is not None:  # Twilio repeated the webhook: same conversation
        conversation = g.db.get(Conversation, started.conversation_id)
    else:
        conversation = current_app.extensions["front_door"].start_conversation(g.db, "voice")
        set_resident_address(settings, conversation, request.form.get("From"))
        hidden = "" if normalise_address(request.form.get("From")) else " (nummer afgeschermd)"
        _note(conversation, f"Telefoongesprek gestart{hidden}.", external_id=marker)
        g.db.commit()
    line = Line(settings)
    line.say(f"Welkom bij {settings.loket_name}. U praat met een computer.")
    _gather_turn(line, conversation, turn=1, misses=0, texts=[_opening_prompt(settings)], choices=[])
    return line.twiml()


def _call_started(marker: str, wait_seconds: float = 0) -> Message | None:
    """The note that opened this call's conversation, waiting for it up to wait_seconds."""
    deadline = time.monotonic() + wait_seconds
    while True:
        g.db.rollback()  # see what other requests committed
        started = g.db.scalar(select(Message).where(Message.external_id == marker, Message.sender == Sender.SYSTEM))
        if started is not None or time.monotonic() >= deadline:
            return started
        time.sleep(0.1)


@bp.post("/gather")
@twilio_signed
@_safe
def gather():
    """One answer of the caller: speech or a key."""
    settings = _settings()
    conversation = _conversation_from_query()
    if conversation is None:
        return _apology(settings)
    turn, misses = max(_int_arg("t"), 1), _int_arg("m")
    line = Line(settings)
    speech = re.sub(r"[\ufffd\x00-\x1f\x7f]", " ", form_text("SpeechResult")).strip()
    digits = request.form.get("Digits", "").strip()
    choices = pending_choices(g.db, conversation)[:MAX_CHOICES]

    if digits == "0" or (speech and len(speech.split()) <= 6 and _WANTS_PERSON.search(normalise(speech))):
        _handover(line, conversation, "de beller vroeg om een medewerker")
        return line.twiml()
    if digits == "*" or (speech and _REPEAT.match(normalise(speech))):
        _gather_turn(line, conversation, turn, misses, _last_prompt(conversation), choices)
        return line.twiml()

    text = None
    if digits:
        choice = match_choice(digits, choices)
        text = payload_of(choice) if choice else None
    elif speech:
        choice = match_choice(speech, choices)
        text = payload_of(choice) if choice else speech[: settings.max_message_chars]

    if text is None:  # silence, or a key that means nothing here
        if misses + 1 >= MAX_MISSES:
            line.say("Het lukt niet goed zo.")
            _handover(line, conversation, "de computer begreep de beller twee keer niet")
            return line.twiml()
        sorry = "Sorry, ik hoorde niets." if not digits else "Die toets kan ik nu niet gebruiken."
        line.say(sorry)
        _gather_turn(line, conversation, turn, misses + 1, _last_prompt(conversation), choices)
        return line.twiml()

    call_sid = request.form.get("CallSid", "")
    external_id = f"{call_sid}:{turn}"[:64] if call_sid else None
    front_door = current_app.extensions["front_door"]
    try:
        outcome = front_door.receive(g.db, conversation, text, external_id=external_id)
    except IntegrityError:
        # A parallel request stored this very turn a moment ago: answer from what it stored.
        g.db.rollback()
        outcome = front_door.receive(g.db, conversation, text, external_id=external_id)

    g.voice_replay = outcome.duplicate
    answer_turn(line, conversation, turn, outcome)
    return line.twiml()


def answer_turn(line: Line, conversation: Conversation, turn: int, outcome: Outcome) -> None:
    """What the front door answered, as speech: crisis first, a person when the bot cannot
    answer, otherwise the bot's replies (and its choices as keypad digits) and the next turn."""
    if outcome.message.crisis:
        crisis_text = next((r.text for r in outcome.replies if r.sender == Sender.SYSTEM), "")
        _crisis(line, conversation, outcome.message.crisis, crisis_text)
        return
    if outcome.asks_safety:  # a possible crisis: the safety question, answered by voice or keypad
        question = next(r for r in outcome.replies if r.buttons)
        spoken = [r.text for r in outcome.replies if r.sender == Sender.SYSTEM]
        _gather_turn(line, conversation, turn + 1, 0, spoken, (question.buttons or [])[:MAX_CHOICES])
        return
    bot_down = conversation.status == Status.BOT and outcome.message.bot_delivery == BotDelivery.PENDING
    bot_replies = [r for r in outcome.replies if r.sender == Sender.BOT]
    # System lines (the BSN warning) are spoken; "assistant unavailable" is not: it tells the
    # caller to phone the loket, which they are doing.
    spoken = [
        r.text for r in outcome.replies if r.sender == Sender.SYSTEM and not (bot_down and r is outcome.replies[-1])
    ]
    spoken += [r.text for r in bot_replies if r.text]
    if bot_down or conversation.status == Status.STAFF or not bot_replies:
        for text in spoken:
            line.say(text)
        line.say(
            "De digitale assistent is nu niet bereikbaar." if bot_down else "Ik geef uw vraag door aan een medewerker."
        )
        _handover(
            line,
            conversation,
            "de digitale assistent was niet bereikbaar" if bot_down else "geen antwoord van de assistent",
        )
        return
    choices = next((r.buttons for r in reversed(bot_replies) if r.buttons), None) or []
    _gather_turn(line, conversation, turn + 1, 0, spoken, [c for c in choices if c.get("title")][:MAX_CHOICES])


@bp.post("/callback")
@twilio_signed
@_safe
def callback():
    """The answer to "shall we call you back?"."""
    settings = _settings()
    conversation = _conversation_from_query()
    if conversation is None:
        return _apology(settings)
    line = Line(settings)
    answer = normalise(form_text("SpeechResult"))
    digits = request.form.get("Digits", "").strip()
    reason = request.args.get("r", "")[:80] or "buiten openingstijden"
    if digits == "1" or (not digits and _YES.match(answer)):
        now = datetime.now(ZoneInfo(line.cs.timezone))
        due = request_callback(conversation, reason, now)
        line.say(f"Goed. We bellen u terug op dit nummer, {speak_deadline(due, now)}. Tot ziens.")
        line.response.hangup()
    elif digits == "2" or (not digits and _NO.match(answer)):
        line.say(
            f"Goed. U kunt ons bellen op {settings.loket_phone}. Het loket is open op "
            f"{speak_hours(settings.loket_hours)}. Tot ziens."
        )
        line.response.hangup()
    elif _int_arg("m") + 1 >= MAX_MISSES:
        line.say(
            f"Ik begreep u niet. Bel ons op {settings.loket_phone}, op {speak_hours(settings.loket_hours)}. Tot ziens."
        )
        line.response.hangup()
    else:
        line.say("Sorry, dat begreep ik niet.")
        _offer_callback(line, conversation, reason, misses=_int_arg("m") + 1, intro=False)
    return line.twiml()


@bp.post("/after-dial")
@twilio_signed
@_safe
def after_dial():
    """The transferred call ended, or did not connect."""
    settings = _settings()
    conversation = _conversation_from_query()
    if conversation is None:
        return _apology(settings)
    line = Line(settings)
    kind = request.args.get("kind", "")
    status = request.form.get("DialCallStatus", "")
    if status == "completed":
        line.say("Tot ziens.")
        line.response.hangup()
        return line.twiml()
    _note(conversation, f"Doorverbinden mislukt ({status or 'onbekend'}).")
    g.db.commit()
    if kind == "loket":
        line.say("Er is nu niemand vrij.")
        _offer_callback(line, conversation, "het loket was bezet", misses=0, intro=False)
        return line.twiml()
    number = channel_settings(settings).crisis_dial.get(kind, "")
    line.say(f"Ik kon u niet doorverbinden. Bel zelf {number.replace('+31', '0')}. Bij direct gevaar: bel 1 1 2.")
    line.response.hangup()
    return line.twiml()


@bp.post("/status")
@twilio_signed
def call_status():
    """Call status callbacks. A finished call with nothing left to do for staff is closed."""
    try:
        _record_call_end()
    except Exception:  # a report we could not store is logged, not bounced back to Twilio
        log.exception("call status callback failed")
        g.db.rollback()
    return Response(status=204)


def _record_call_end() -> None:
    call_sid = request.form.get("CallSid", "")
    status = request.form.get("CallStatus", "")
    if status in ("completed", "busy", "failed", "no-answer", "canceled") and call_sid:
        started = g.db.scalar(
            select(Message).where(Message.external_id == f"call:{call_sid}", Message.sender == Sender.SYSTEM)
        )
        if started is not None:
            conversation = g.db.get(Conversation, started.conversation_id)
            ended = f"end:{call_sid}"[:64]
            if not _noted(conversation, ended):
                duration = request.form.get("CallDuration", "")
                _note(
                    conversation,
                    f"Telefoongesprek beëindigd ({status}{', ' + duration + ' s' if duration.isdigit() else ''}).",
                    external_id=ended,
                )
                callback_asked = _noted(conversation, _callback_marker(call_sid))
                if conversation.status == Status.BOT and not conversation.crisis and not callback_asked:
                    conversation.status = Status.CLOSED
                g.db.commit()
