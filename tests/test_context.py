"""The narrow context recipes and services receive: what it carries, and that events name the facade."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from modelcycle import NotFoundError, alerts, hookimpl, open_project
from modelcycle.context import Context, context_of

from tests.conftest import write_settings


class Seen:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any, dict[str, Any]]] = []

    @hookimpl
    def after_alert_sent(self, project: Any, alert: dict[str, Any]) -> None:
        self.calls.append(("after_alert_sent", project, alert))


def test_the_context_carries_what_the_project_opened(tmp_path: Path) -> None:
    write_settings(tmp_path, '[project]\nname = "p"\n')
    project = open_project(tmp_path)
    ctx = project.context
    assert isinstance(ctx, Context)
    assert (ctx.settings, ctx.store, ctx.registry, ctx.host) == (
        project.settings,
        project.store,
        project.registry,
        project.host,
    )
    assert ctx.name == "p" and ctx.clock().tzinfo is not None
    assert context_of(project) is ctx and context_of(ctx) is ctx


def test_a_recipe_fires_its_event_with_the_facade_as_project(tmp_path: Path, monkeypatch) -> None:
    write_settings(tmp_path, '[project]\nname = "p"\n[notifiers.box]\ntype = "file"\n')
    seen = Seen()
    project = open_project(tmp_path, plugins=[seen])
    queued = alerts.queue(project.context, "box", "subject", "text", {"kind": "test", "at": "t"})
    sent = alerts.deliver(project.context, queued)
    assert sent["status"] == "sent"
    [(event, facade, alert)] = seen.calls
    assert event == "after_alert_sent" and facade is project and alert["id"] == queued["id"]
    # the services a script calls take the Project it holds, and answer the same
    logged = alerts.sent(project)
    assert logged == alerts.sent(project.context) and [a["id"] for a in logged] == [queued["id"]]


def test_require_model_names_the_models_defined(tmp_path: Path) -> None:
    write_settings(tmp_path, '[project]\n[datasets.d]\nurl = "d.csv"\n[models.churn]\ndataset = "d"\ntarget = "y"\n')
    ctx = open_project(tmp_path).context
    ctx.require_model("churn")
    with pytest.raises(
        NotFoundError, match="^unknown model 'chrun': did you mean 'churn'\\?.*models in modelcycle.toml: churn$"
    ):
        ctx.require_model("chrun")
