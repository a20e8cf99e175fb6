"""plevaluate's own levels, one package each: cost (0) and Guskey's five (`plevaluate.registry.BUILTIN`)."""
