"""A size below a minimum that is a whole number of MiB says so: '--memory-limit 64MB' is 64,000,000 bytes, below
the 64 MiB minimum, and the message used to show only 67,108,864 against '64MB'."""

import pytest

from datagen.contract.errors import ConfigError
from splitters.config import parse_bytes


def test_a_size_below_a_mib_minimum_names_mib_and_the_bytes_given():
    with pytest.raises(ConfigError, match=r"at least 67,108,864 bytes \(64 MiB: MB and GB are powers of 10.*"
                                          r"got '64MB' \(64,000,000 bytes\)"):
        parse_bytes("64MB")
    assert parse_bytes("64MiB") == 64 << 20
