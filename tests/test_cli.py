"""The command line speaks French, suggests the closest name, and never shows a traceback."""

from harness import assert_french_error, incubo


def test_help_is_french(jupyter_env):
    result = incubo("--help", env=jupyter_env)
    assert result.returncode == 0
    assert "utilisation" in result.stdout
    assert "afficher cette aide" in result.stdout


def test_unknown_subcommand_suggests_closest(jupyter_env):
    result = incubo("buidl", env=jupyter_env)
    assert_french_error(result, "Commande inconnue", "« build »")
    assert result.returncode == 2


def test_unknown_option_suggests_closest(jupyter_env):
    result = incubo("build", "--corses", "x", env=jupyter_env)
    assert_french_error(result, "Option inconnue", "« --courses »")


def test_lab_without_course_dir_is_a_french_error(jupyter_env, tmp_path):
    result = incubo("lab", "--course-dir", tmp_path / "absent", env=jupyter_env)
    assert_french_error(result, "n'existe pas", "incubo build")
