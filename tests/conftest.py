pytest_plugins = ["sotay_devstack.pytest_plugin"]
