import pytest

from rlnas.config import ConfigError, SearchConfig, load_config, parse_duration


def test_toml_file_with_tables(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        'dataset = "digits"\nbudget = 5\ntime-limit = "2m"\n'
        "[space]\nfilters = [4, 8]\nmax_depth = 3\n[strategy]\nalpha = 0.1\n"
        "[train]\nlearning_rate = 0.01\n"
    )
    values = load_config(path)
    config = SearchConfig.from_dict(values)
    assert config.budget == 5 and config.time_limit == 120
    assert config.space_settings == {"filters": [4, 8], "max_depth": 3}
    assert config.strategy_settings == {"alpha": 0.1}
    assert config.train_settings == {"learning_rate": 0.01}


def test_strategy_and_space_by_name_alone_or_inside_their_tables(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('strategy = "evolution"\n[space]\nname = "metaqnn-tiny"\nmax_depth = 3\n')
    config = SearchConfig.from_dict(load_config(path))
    assert config.strategy == "evolution" and config.strategy_settings == {}
    assert config.space == "metaqnn-tiny" and config.space_settings == {"max_depth": 3}


@pytest.mark.parametrize(
    ("text", "message"),
    [("budget = 0", "budget must be a positive integer"), ("bogus = 1", "unknown setting"),
     ("budget = [", "not valid TOML"), ("space = 3", "must be a table"),
     ("val_fraction = 1.5", "val_fraction")],
)  # fmt: skip
def test_invalid_config_is_rejected_clearly(tmp_path, text, message):
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.toml")


def test_durations():
    assert parse_duration("90s") == 90 and parse_duration("1h30m") == 5400
    with pytest.raises(ConfigError, match="invalid duration"):
        parse_duration("soon")


def test_the_readme_config_example_is_valid(tmp_path):
    from pathlib import Path

    readme = (Path(__file__).parents[1] / "README.md").read_text()
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "c.toml").write_text(example)
    config = SearchConfig.from_dict(load_config(tmp_path / "c.toml"))
    assert config.strategy == "qlearning" and config.strategy_settings["alpha"] == 0.01


def test_the_goal_config_is_valid_and_re_ranks_a_shortlist():
    from pathlib import Path

    path = Path(__file__).parents[1] / "benchmarks" / "fashion_goal.toml"
    config = SearchConfig.from_dict(load_config(path))
    assert config.max_params == 50000 and config.shortlist >= config.top_k >= 1
