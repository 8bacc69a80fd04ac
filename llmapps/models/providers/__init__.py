"""One module per provider; each turns a :class:`ModelSpec` into LangChain objects."""
