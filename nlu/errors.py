"""Errors raised by the NLU side. Callers catch at the level they care about:

NluError                  anything NLU-related went wrong
├── NluUnavailable        no answer from any Rasa server (down, refused, 5xx)
│   └── NluTimeout        a server did not answer in time
├── NluBadResponse        a server answered with something that is not a parse
├── NothingToClassify     the text has nothing to classify (empty, only slashes)
└── RasaSetupError        the Rasa venv, Python 3.10 or a model could not be made
"""


class NluError(Exception):
    """Base of every NLU error."""


class NluUnavailable(NluError):
    """No Rasa server could classify the text."""


class NluTimeout(NluUnavailable):
    """A Rasa server took longer than the client's timeout."""


class NluBadResponse(NluError):
    """A Rasa server answered, but not with a usable parse."""


class NothingToClassify(NluError):
    """The text is empty once what Rasa must not see is removed."""


class RasaSetupError(NluError):
    """Setting up Rasa failed; the message says what to do about it."""
