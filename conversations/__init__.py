"""One conversation model for every channel, and the front door every resident message passes."""
