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
