"""The base model preparation and the model profiles."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from agentgraph.errors import ConfigError, ModelError
from agentgraph.serving.prepare import MANIFEST, prepare_model, read_manifest, sha256_file
from agentgraph.serving.profile import PROFILES, get_profile
from agentgraph.settings import Settings


def test_prepared_model_has_bos_end_of_turn_and_manifest(prepared_model):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(prepared_model.path)
    ids = tokenizer("hello")["input_ids"]
    assert ids[0] == tokenizer.bos_token_id
    config = json.loads((prepared_model.path / "generation_config.json").read_text())
    assert tokenizer.convert_tokens_to_ids("<end_of_turn>") in config["eos_token_id"]
    manifest = json.loads((prepared_model.path / MANIFEST).read_text())
    assert manifest["base_model_hash"] == prepared_model.base_model_hash
    assert sha256_file(prepared_model.path / "config.json") == manifest["files"]["config.json"]


def test_second_prepare_does_nothing(prepared_model):
    settings = Settings()
    before = (prepared_model.path / MANIFEST).stat().st_mtime_ns
    again = prepare_model(settings, get_profile(settings.model.profile))
    assert again == prepared_model
    assert (prepared_model.path / MANIFEST).stat().st_mtime_ns == before  # nothing was rebuilt


def test_processes_preparing_at_once_build_the_model_once(tmp_path, monkeypatch):
    """Two preparations of the same folder at once (`make run` beside the tests): one builds, one waits."""
    from agentgraph.serving import prepare

    builds = []

    def slow_build(target, profile):
        builds.append(target)
        time.sleep(0.5)
        target.mkdir(parents=True)
        (target / "model.safetensors").write_bytes(b"weights")
        return prepare._write_manifest(target, profile, source_sha256="")

    monkeypatch.setattr(prepare, "_build_from_gguf", slow_build)
    settings = Settings(model={"cache_dir": tmp_path})
    profile = get_profile(settings.model.profile)
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: prepare_model(settings, profile), range(2)))
    assert len(builds) == 1
    assert results[0] == results[1]


def test_a_missing_file_invalidates_the_manifest(tmp_path):
    (tmp_path / "weights.safetensors").write_bytes(b"x")
    (tmp_path / MANIFEST).write_text(json.dumps({"base_model_hash": "h", "files": {"weights.safetensors": "0" * 64}}))
    assert read_manifest(tmp_path) is not None
    assert read_manifest(tmp_path, verify=True) is None  # the hash does not match
    (tmp_path / "weights.safetensors").unlink()
    assert read_manifest(tmp_path) is None


def test_a_corrupt_manifest_is_a_clear_error(tmp_path):
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(ModelError, match="corrupt"):
        read_manifest(tmp_path)


def test_profiles_keep_the_tool_format_in_one_place():
    cpu, gpu = get_profile("gemma3-270m-cpu"), get_profile("qwen3-gpu")
    assert cpu.tool_call_parser == "pythonic" and cpu.chat_template_path.is_file()
    assert gpu.tool_call_parser == "hermes" and gpu.vllm_package == "vllm"
    with pytest.raises(ConfigError, match="known profiles"):
        get_profile("nope")
    assert set(PROFILES) == {"gemma3-270m-cpu", "qwen3-gpu"}


def test_a_folder_profile_without_a_model_says_where_to_put_it(tmp_path):
    settings = Settings(model={"profile": "qwen3-gpu", "path": tmp_path / "qwen"})
    with pytest.raises(ModelError, match="model.path"):
        prepare_model(settings, get_profile("qwen3-gpu"))
