"""Errors worded like Go's ``text/template`` errors."""

from __future__ import annotations


class GoTemplateError(Exception):
    """Base class: a template failed to parse or to execute."""


class ParseError(GoTemplateError):
    """What Go's parser refuses (``template: NAME:LINE: message``)."""


class ExecError(GoTemplateError):
    """What Go's executor refuses (``template: NAME:LINE:COL: executing ... message``)."""
