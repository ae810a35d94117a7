"""gen.restore() checks the state's own consistency: config_sha256 against its config, the top-level
copies against its config, batches_per_epoch against the generator."""

import copy

import pytest

from datagen import DataGenerator
from datagen.contract.errors import ConfigError
from gen_fixtures import FEATURES


@pytest.mark.parametrize("edit, named", [
    (lambda s: s.update(replica=1), "state['replica']=1"),
    (lambda s: s.update(num_replicas=2), "state['num_replicas']=2"),
    (lambda s: s["config"].update(batch_size=4), "config_sha256"),
    (lambda s: s.update(batches_per_epoch=s["batches_per_epoch"] + 1), "state['batches_per_epoch']"),
])
def test_restore_refuses_an_edited_state(dataset, edit, named):
    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=400, seed=3)
    state = gen.state()
    gen.restore(copy.deepcopy(state))     # the state as written is accepted
    bad = copy.deepcopy(state)
    edit(bad)
    with pytest.raises(ConfigError, match=named.replace("[", r"\[").replace("]", r"\]")) as exc:
        DataGenerator(dataset, FEATURES, label="label", batch_size=400, seed=3).restore(bad)
    assert "\n" not in str(exc.value)


def test_state_file_follows_the_manifest_write_rule(dataset, tmp_path):
    """write_state uses atomic_write_text: the file gets the umask's mode like the manifest (mkstemp's 0600
    before), a failed write leaves the old file whole with no temporary beside it, and says so in one line."""
    import os

    from datagen.contract.errors import OutputError
    from datagen.reader.resume import read_state, write_state

    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=400, seed=3)
    path = tmp_path / "state.json"
    umask = os.umask(0o022)
    try:
        write_state(str(path), gen.state())
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o644
    assert read_state(str(path)) == gen.state()
    with pytest.raises(TypeError):
        write_state(str(path), {"format": object()})   # not JSON: nothing is written
    assert read_state(str(path)) == gen.state() and [p.name for p in tmp_path.iterdir()] == ["state.json"]
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputError, match="cannot write the generator state") as exc:
        write_state(str(tmp_path / "file" / "state.json"), gen.state())
    assert "\n" not in str(exc.value)


def test_checkpoint_is_the_fit_callback_plus_the_state_writes(dataset, tmp_path):
    """gen.checkpoint extends gen.callback's class: the epoch/step bookkeeping lives once."""
    from datagen.reader.fitcallback import EpochCallback

    gen = DataGenerator(dataset, FEATURES, label="label", batch_size=400, seed=3)
    assert type(gen.callback) is EpochCallback
    checkpoint = gen.checkpoint(tmp_path / "state.json", save_freq=2)
    assert isinstance(checkpoint, EpochCallback) and checkpoint.generator is gen
    for hook in ("on_train_begin", "on_epoch_begin", "on_train_end"):
        assert hook not in type(checkpoint).__dict__   # inherited, not repeated
