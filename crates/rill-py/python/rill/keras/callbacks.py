"""Keras' callbacks. The built-in ones run inside Rill's training loop; a user's own is a
subclass of `Callback` whose hooks Rill calls with the epoch's logs (it may set
`self.model.stop_training = True`)."""


class Callback:
    """A hook into `fit`; override any of the `on_*` methods."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        self.model = model

    def set_params(self, params):
        self.params = params

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_end(self, batch, logs=None):
        pass


def wants_batch_logs(callback):
    """Whether a user's callback overrides the per-batch hook (calling it costs every step)."""
    return type(callback).on_train_batch_end is not Callback.on_train_batch_end


class _Builtin(Callback):
    _kind = None

    def __init__(self, **config):
        super().__init__()
        self._config = config

    def _rill_spec(self):
        return (self._kind, self._config)


class EarlyStopping(_Builtin):
    _kind = "EarlyStopping"

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__(monitor=monitor, min_delta=float(min_delta), patience=int(patience), mode=mode,
                         baseline=baseline, restore_best_weights=bool(restore_best_weights),
                         start_from_epoch=int(start_from_epoch))


class ReduceLROnPlateau(_Builtin):
    _kind = "ReduceLROnPlateau"

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0.0):
        super().__init__(monitor=monitor, factor=float(factor), patience=int(patience), mode=mode,
                         cooldown=int(cooldown), min_lr=float(min_lr))


class CSVLogger(_Builtin):
    _kind = "CSVLogger"

    def __init__(self, filename, separator=",", append=False):
        if separator != "," or append:
            raise ValueError("CSVLogger: Rill writes comma-separated files from the start")
        super().__init__(filename=str(filename))


class ModelCheckpoint(_Builtin):
    _kind = "ModelCheckpoint"

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        if save_freq != "epoch":
            raise ValueError("ModelCheckpoint: Rill saves once per epoch (save_freq='epoch')")
        super().__init__(filepath=str(filepath), monitor=monitor, save_best_only=bool(save_best_only),
                         save_weights_only=bool(save_weights_only), mode=mode)


class TensorBoard(_Builtin):
    _kind = "TensorBoard"

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False, update_freq="epoch", **kwargs):
        super().__init__(log_dir=str(log_dir), histogram_freq=int(histogram_freq), write_graph=bool(write_graph),
                         write_images=bool(write_images), update_freq=update_freq)


class TerminateOnNaN(_Builtin):
    _kind = "TerminateOnNaN"

    def __init__(self):
        super().__init__()


class LearningRateScheduler(_Builtin):
    _kind = "LearningRateScheduler"

    def __init__(self, schedule, verbose=0):
        super().__init__(schedule=schedule)
