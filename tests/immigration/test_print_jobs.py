"""The print-job key: built and parsed by one function pair that round-trips."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from immigration.print_jobs import office_key_prefix, parse_print_job_key, print_job_key
from immigration.references import new_reference


@given(office=st.sampled_from(["NNK", "TPK", "JKT1"]), version=st.integers(1, 10_000))
def test_keys_round_trip_and_start_with_the_office_prefix(office, version):
    reference = new_reference(office)
    key = print_job_key(reference, version)
    assert parse_print_job_key(key) == (reference, version)
    assert key.startswith(office_key_prefix(office))


def test_foreign_keys_do_not_parse():
    for key in ["", "NNK-7KQ3-M9XD", "NNK-7KQ3-M9XD:v", "NNK-7KQ3-M9XD:vx", ":v3", "job-42"]:
        assert parse_print_job_key(key) is None
