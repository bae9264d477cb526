"""Run environments: dependency files -> commands, Dockerfiles and build contexts."""
