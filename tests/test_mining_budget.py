"""The mining kernel's memory budget: sizes, the certain-explosion shortcut, the kernel's own
accounting and its error."""

from __future__ import annotations

import numpy as np
import pytest

from basketlens._params import ByteSize, parse_bytes
from basketlens.errors import MiningBudgetError, ParameterError
from basketlens.mining import mine_itemsets
from basketlens.mining._budget import certain_explosion, kernel_allowance, process_memory
from basketlens.mining._kernel import core
from basketlens.mining.options import MiningOptions


def test_sizes_parse_with_binary_units() -> None:
    assert parse_bytes("512M") == 512 << 20
    assert parse_bytes("2GiB") == parse_bytes("2gb") == parse_bytes("2 G") == 2 << 30
    assert parse_bytes("1.5k") == 1536 and parse_bytes("lots") is None
    assert MiningOptions().updated({"max_memory": "1G"}).validate().max_memory == 1 << 30
    with pytest.raises(ParameterError, match=r"max_memory must be a size such as 512M"):
        MiningOptions().updated({"max_memory": "1 gallon"}).validate()
    with pytest.raises(ParameterError, match=r"at least 1 bytes"):
        ByteSize().check("max_memory", 0)


def test_certain_explosion_counts_subsets_of_one_basket() -> None:
    assert certain_explosion(22, 1, None, 5_000_000, 1 << 40) is None  # 4,194,303 itemsets
    assert certain_explosion(23, 1, None, 5_000_000, 1 << 40) is not None  # 8,388,607
    assert certain_explosion(23, 2, None, 5_000_000, 1 << 40) is None  # only at min_count 1
    assert certain_explosion(20_000, 1, 2, None, 1 << 40) is None  # C(20000, 2) ≈ 2e8: fits
    assert "for the itemsets alone" in certain_explosion(20_000, 1, 2, None, 1 << 30)


def test_the_process_budget_leaves_room_for_what_is_already_used() -> None:
    limit, budget = kernel_allowance(1 << 40)
    assert budget == 1 << 40 and 0 < limit < budget


@pytest.mark.skipif(core is None, reason="the compiled kernel is not built")
def test_the_kernel_stops_at_its_budget_and_gives_every_byte_back() -> None:
    n = 600
    indptr = np.array([0, n, 2 * n], dtype=np.int64)
    indices = np.concatenate([np.arange(n, dtype=np.int32)] * 2)
    before = core.memory_in_use()
    with pytest.raises(core.MemoryBudgetExceeded) as caught:
        core.mine(indptr, indices, n, 2, 0, -1, 0, max_memory=8 << 20)
    limit, peak, found, longest = caught.value.args
    assert limit == 8 << 20 and 0 < peak <= limit and found > 0 and longest > 0
    assert core.memory_in_use() == before
    flat, offsets, counts, complete = core.mine(indptr, indices, n, 2, 2, -1, 0, max_memory=-1)
    assert complete and len(counts) == n + n * (n - 1) // 2  # the output owns its buffers
    assert flat.flags.owndata is False and flat.base is not None and offsets[-1] == len(flat)


def test_mine_itemsets_names_max_len_and_max_memory() -> None:
    basket = [f"i{i}" for i in range(600)]
    budget = (process_memory() or 0) + (64 << 20)
    with pytest.raises(MiningBudgetError, match=r"would use more than max_memory=.*set max_len"):
        mine_itemsets([basket, basket], min_count=2, max_itemsets=None, max_memory=budget)
    with pytest.raises(MiningBudgetError, match=r"max_memory=1\.0 MiB is less than this process"):
        mine_itemsets([basket, basket], min_count=2, max_memory=1 << 20)
