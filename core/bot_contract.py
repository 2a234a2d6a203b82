"""What the bot (bot/actions/, in the action server) and the app (the front door in
conversations/) say to each other besides the resident's text: the keys of the custom
payloads the bot sends, and the handover reasons both sides name. One home, so a key
cannot drift between the sender and the reader."""

from __future__ import annotations


class Payload:
    """Keys of the bot's custom payloads (never shown to the resident); the front door
    applies them to the conversation (conversations/front_door.py)."""

    # str: the handover reason of an offer the bot made (the conversation's handover_reason)
    HANDOVER_OFFERED = "handover_offered"
    # True: the resident said yes to the offer (for the trace; the ticket follows)
    HANDOVER_ACCEPTED = "handover_accepted"
    # int: the id of the ticket the bot opened (without an offer: after a crisis)
    HANDOVER_TICKET = "handover_ticket"
    # True: the next message is the phone number for a callback (kept encrypted, not in Rasa)
    EXPECT_CALLBACK_NUMBER = "expect_callback_number"
    # True: the resident asked to erase the conversation ("wis alles")
    FORGET_CONVERSATION = "forget_conversation"
    # {code: [the resident's words]}: the levensgebieden the bot heard in this message
    LEVENSGEBIEDEN = "levensgebieden"


# Why a warm handover is offered or a ticket opened, with the label staff read in the inbox.
HANDOVER_REASONS = {
    "meerdere_levensgebieden": "Zorgen op meerdere levensgebieden",
    "regieverlies": "Overziet het zelf niet meer",
    "wil_mens": "Wil een mens spreken",
    "helpt_niet": "De informatie helpt niet",
    "crisis": "Crisis",
    "zorg_om_ander": "Zorgen over iemand anders",
    "terugbelverzoek": "Belde en wil teruggebeld worden",
}
# The reasons the bot itself can give (a callback request comes from the phone line).
BOT_HANDOVER_REASONS = ("crisis", "wil_mens", "helpt_niet", "regieverlies", "zorg_om_ander", "meerdere_levensgebieden")

# What the front door sends the bot for a resident who asks for help in answer to a
# follow-up (conversations/opvolging.py): the intent of "I want to talk to a person".
ASK_FOR_A_PERSON = "/ask_human"
