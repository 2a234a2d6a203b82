"""Knowledge: the offline embedding model, embeddings, retrieval and algemene-regelingen articles."""
