"""Go's ``text/template`` in Python: lexer, parser, executor, builtins and Go's printing rules.

Why our own: Ollama model templates are Go templates, and the server renders them without Go.
The package follows Go's ``text/template`` (and ``text/template/parse``) closely enough that
Ollama's template library renders byte for byte, and what Go refuses is refused with Go's
wording (``template: :3: function "foo" not defined``).
"""

from llmapps.serve.gotmpl.errors import ExecError, GoTemplateError, ParseError
from llmapps.serve.gotmpl.exec import Template, parse

__all__ = ["ExecError", "GoTemplateError", "ParseError", "Template", "parse"]
