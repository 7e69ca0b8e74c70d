"""Frontdesk's own Rasa components, imported by Rasa (in its venv, Python 3.10) when it
trains or serves the model: a multilingual sentence encoder, a language detector and a
linear intent classifier over n-grams and the encoder's vectors."""
