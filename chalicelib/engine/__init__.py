"""The pure parts of the workflow engine: graph model and validation, routing
and join decisions, retry and timeout policies, and the context a step handler
receives. Nothing here touches the database, the queue or the network; the
runner that claims steps and enqueues successors calls into these modules.
"""
