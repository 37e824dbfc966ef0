"""Training configs: the checked-in files parse, unknown keys are refused, overrides apply."""

from __future__ import annotations

import pytest

from agentgraph.errors import ConfigError
from agentgraph.finetune.config import AGENTS, CONFIG_DIR, TrainConfig, load_config, parse_config


def test_parse_sets_sections_and_keeps_defaults() -> None:
    config = parse_config("math", "[data]\nn_train = 12\nseed = 3\n[sft]\nepochs = 1\nlearning_rate = 1e-4\n")
    assert config.data.n_train == 12 and config.data.seed == 3
    assert config.sft.epochs == 1 and config.sft.learning_rate == 1e-4
    assert config.sft.lora_rank == 8 and config.sft.target_modules == "all-linear"
    assert config.rlhf.beta == TrainConfig("x").rlhf.beta


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("[sft]\nlearnin_rate = 1e-4\n", "learnin_rate"),
        ("[training]\nepochs = 1\n", "training"),
        ("[data]\nn_train = 0\n", "n_train"),
        ("[sft]\nepochs = 0\nmax_steps = -1\n", "epochs"),
        ("[sft\n", "not valid TOML"),
        ("[sft]\nexport_step = 100\neval_steps = 100\n", "export_step 100 needs keep_checkpoints = 0"),
        ("[sft]\nexport_step = 150\neval_steps = 100\nkeep_checkpoints = 0\n", "a multiple of eval_steps"),
        ("[data]\nn_train = 100\n[sft]\ncontinue_after = 100\n", "continue_after 100 must be below"),
        ("[sft]\ncontinue_after = 10\n", "continue_after 10 must be below"),
    ],
)
def test_bad_configs_name_the_problem(text: str, names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        parse_config("math", text, source="math.toml")


def test_overrides_replace_steps_and_rows_only() -> None:
    config = parse_config("router", "[sft]\nepochs = 2\n").with_overrides(max_steps=3, n_train=16)
    assert config.sft.max_steps == 3 and config.rlhf.max_steps == 3
    assert config.data.n_train == 16 and config.sft.epochs == 2


def test_missing_file_gives_defaults(tmp_path) -> None:  # noqa: ANN001
    assert load_config("writing", tmp_path) == TrainConfig("writing")


@pytest.mark.parametrize("agent", AGENTS)
def test_checked_in_configs_parse(agent: str) -> None:
    path = CONFIG_DIR / f"{agent}.toml"
    if not path.is_file():
        pytest.fail(f"{path} is missing")
    config = load_config(agent)
    assert config.agent == agent and config.sft.lora_rank <= 8
