"""Understanding a resident's message: crisis (two tiers) and levensgebieden.

Learned models on the stack's own sentence embeddings (knowledge.embeddings,
multilingual-e5-small), trained on the corpus in understanding/corpus/ that the project
wrote itself, plus the bot's own NLU examples. Nothing here reads an evaluation set.

Layer: above knowledge (embeddings), below conversations (the front door), the bot's
actions and the search that take its answers.
"""
