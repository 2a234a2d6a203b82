"""The sociale kaart: the local services directory (HSDS 3.0 data model, importers,
exporters, validation). It knows nothing of the bot, the channels or the inbox."""
