"""The sandbox's REST routes, one module per area of the Jira API, each exposing ``routes()``.

``issue`` (issues, changelog, create/edit metadata), ``transitions``, ``comments``,
``worklogs``, ``attachments``, ``links`` (issue and remote links), ``watchers``,
``projects`` (projects, versions, components, issue types), ``users``, ``fields`` (custom
field options), ``search``, ``jql`` (parse, autocomplete data, suggestions), ``agile``,
``servicedesk`` (Jira Service Management), ``meta``, ``devstatus`` (development information), ``forms`` (Jira Forms,
Cloud); ``admin`` holds the ``/__sandbox__/`` knobs and is mounted only when asked for.
"""

from __future__ import annotations

from jiraplug.sandbox.routes import (
    admin,
    agile,
    attachments,
    comments,
    devstatus,
    fields,
    forms,
    issue,
    jql,
    links,
    meta,
    projects,
    search,
    servicedesk,
    transitions,
    users,
    watchers,
    worklogs,
)

AREAS = (meta, issue, transitions, comments, worklogs, attachments, links, watchers, projects, users, fields,
         search, jql, agile, servicedesk, devstatus, forms)
"""Every Jira API area the sandbox serves, in the order their routes are matched."""

__all__ = ["AREAS", "admin"]
