pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.graphql",
    "tests.fixtures.world",
    "tests.fixtures.money",
    "tests.fixtures.partners",
]
