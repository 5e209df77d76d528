"""A trial's attributes written in one transaction read back as Optuna wrote them one by one."""

from __future__ import annotations

import optuna
import pytest

from tuner.storage import backend, open_storage, record_attrs


def test_attributes_in_one_transaction_match_optunas_own(tmp_path):
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(storage=open_storage(f"sqlite:///{tmp_path}/a.db"))
    ours, theirs = study.ask(), study.ask()
    attrs = {"samples": {"w=1": [1.5, 2.0]}, "reason": "text", "none": None, "flag": True}
    ours.set_user_attr("samples", "replaced below")
    record_attrs(ours, attrs)
    backend(study).set_trial_attrs(ours._trial_id, {}, {"artifacts:x": '{"filename": "l"}'})
    for key, value in attrs.items():
        theirs.set_user_attr(key, value)
    study.tell(ours, 1.0)
    study.tell(theirs, 2.0)
    a, b = study.get_trials()
    assert a.user_attrs == b.user_attrs == attrs
    assert a.system_attrs["artifacts:x"] == '{"filename": "l"}'
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        record_attrs(ours, {"late": 1})  # a finished trial is refused, as by Optuna
