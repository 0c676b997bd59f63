"""Per-epoch progress display of a fit: a Keras progress bar on a terminal, else one line per epoch."""

import sys
import time


class EpochReport:
    """Called after each epoch with its loss, validation score and learning rate.

    On a terminal it drives ``keras.utils.Progbar``; otherwise (a log file,
    a notebook capture, pytest) it prints one line per epoch.
    """

    def __init__(self, n_epochs, first_epoch=0, stream=None):
        self.stream = stream or sys.stdout
        self.n_epochs = n_epochs
        self.first_epoch = first_epoch
        self.start = time.perf_counter()
        self.bar = None
        if getattr(self.stream, "isatty", lambda: False)():
            from ._backend import keras

            self.bar = keras().utils.Progbar(
                n_epochs, interval=0.0, unit_name="epoch",
                stateful_metrics=["loss", "validation score", "learning rate"],
            )

    def __call__(self, epoch, loss, score, rate, weights=None):
        """Report epoch ``epoch`` (counted from 1 within this fit); ``weights`` is unused."""
        if self.bar is not None:
            values = [("loss", loss), ("learning rate", rate)]
            if score is not None:
                values.insert(1, ("validation score", score))
            self.bar.update(epoch, values, finalize=epoch == self.n_epochs)
            return
        text = f"Epoch {self.first_epoch + epoch}/{self.first_epoch + self.n_epochs}: loss {loss:.8f}"
        if score is not None:
            text += f", validation score {score:.6f}"
        text += f", learning rate {rate:.6g}, {time.perf_counter() - self.start:.2f} s"
        print(text, file=self.stream, flush=True)
