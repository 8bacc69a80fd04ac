"""The embedded llama.cpp runner: GGUF discovery, a keep-alive pool, our LangChain chat model."""
