"""Transaction ids: creation, keeping valid incoming ids, child ltxnids as the seeds describe."""

from skitai.observability.txn import ChildLtxnids, new_gtxnid, resolve


def test_new_ids():
    assert new_gtxnid(0, 3, 8) == "GTID-W0-C3-R8"
    assert resolve(None, None, 1, 4, 2) == ("GTID-W1-C4-R2", "1000")


def test_incoming_ids_are_kept():
    assert resolve(b"GTID-C4676-R67", b"2001", 0, 1, 1) == ("GTID-C4676-R67", "2001")
    assert resolve(b"GTID-C4676-R67", None, 0, 1, 1) == ("GTID-C4676-R67", "1000")


def test_invalid_incoming_ids_are_replaced():
    assert resolve(b"has space", b"2001", 0, 1, 1) == ("GTID-W0-C1-R1", "1000")
    assert resolve(b'quo"te', None, 0, 1, 1)[0] == "GTID-W0-C1-R1"
    assert resolve(b"x" * 200, None, 0, 1, 1)[0] == "GTID-W0-C1-R1"
    assert resolve(b"GTID-OK", b"12ab", 0, 1, 1) == ("GTID-OK", "1000")


def test_child_ltxnids_follow_the_seeds():
    root = ChildLtxnids("1000")
    assert [root.next(), root.next()] == ["2001", "2002"]
    assert ChildLtxnids("2001").next() == "3002"
    assert ChildLtxnids("2002").next() == "3003"
