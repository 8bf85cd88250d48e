"""The compiled read path: one read operation, one SQL statement (DESIGN.md, "The read
path"). ``planner`` -> ``sql`` -> ``executor``; ``extension`` hooks it into execution."""
