"""Process-wide state the training loop polls: the SIGTERM flag (set by the signal thread in __main__)."""

import threading

CANCEL = threading.Event()
