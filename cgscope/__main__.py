from cgscope.cli import entrypoint

entrypoint()
