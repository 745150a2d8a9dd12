import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "crash: kill -9 tests with real dispatcher processes (about 20 s)"
    )
