"""Maps the project folders agents/, graphs/ and finetune/ into the agentgraph namespace."""

from setuptools import find_packages, setup

MAPPED = {"agentgraph": "agentgraph", "agentgraph.agents": "agents", "agentgraph.graphs": "graphs", "agentgraph.finetune": "finetune"}

packages = []
for name, folder in MAPPED.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=MAPPED)
