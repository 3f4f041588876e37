"""DataRoots: paths stay inside the roots, and outside paths reveal nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from common.errors import FILE_NOT_FOUND, FORBIDDEN, InvalidArgument, NotFound, PermissionDenied
from services.microscopy.core.paths import DataRoots


@pytest.fixture
def tree(tmp_path: Path) -> dict[str, Path]:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "exp").mkdir(parents=True)
    outside.mkdir()
    (root / "exp" / "a.nd2").write_bytes(b"x")
    (outside / "secret.txt").write_text("secret")
    (root / "link_out").symlink_to(outside / "secret.txt")
    (root / "link_out_dir").symlink_to(outside)
    (root / "link_in").symlink_to(root / "exp" / "a.nd2")
    (tmp_path / "root2").mkdir()  # shares the prefix "root" without being inside it
    (tmp_path / "root2" / "b.nd2").write_bytes(b"x")
    return {"root": root, "outside": outside, "tmp": tmp_path}


def denied(roots: DataRoots, path: str | Path) -> PermissionDenied:
    with pytest.raises(PermissionDenied) as info:
        roots.resolve(path)
    assert info.value.code == FORBIDDEN
    return info.value


def test_relative_paths_start_at_the_first_root(tree) -> None:
    roots = DataRoots([tree["root"]])
    assert roots.resolve("exp/a.nd2") == tree["root"] / "exp" / "a.nd2"
    assert roots.resolve("") == tree["root"]
    assert roots.resolve(".") == tree["root"]
    assert roots.resolve("exp/../exp/./a.nd2") == tree["root"] / "exp" / "a.nd2"
    assert roots.resolve(tree["root"] / "exp") == tree["root"] / "exp"


@pytest.mark.parametrize(
    "path", ["..", "../outside/secret.txt", "exp/../../outside/secret.txt", "exp/../../root2/b.nd2"]
)
def test_dot_dot_traversal_is_refused(tree, path: str) -> None:
    denied(DataRoots([tree["root"]]), path)


def test_sibling_folder_sharing_the_root_name_prefix_is_outside(tree) -> None:
    denied(DataRoots([tree["root"]]), tree["tmp"] / "root2" / "b.nd2")


def test_outside_paths_get_one_answer_whether_or_not_they_exist(tree) -> None:
    roots = DataRoots([tree["root"]])
    answers = [
        denied(roots, path)
        for path in ("/etc/passwd", "/nonexistent/x", "/etc", tree["outside"] / "secret.txt",
                     tree["outside"] / "missing.txt", "../outside/missing")
    ]  # fmt: skip
    assert len({(type(a), a.code, a.message) for a in answers}) == 1
    assert "passwd" not in answers[0].message
    assert answers[1].details == {"path": "/nonexistent/x"}


def test_symlinks_pointing_out_of_the_root_are_refused(tree) -> None:
    roots = DataRoots([tree["root"]])
    denied(roots, "link_out")
    denied(roots, "link_out_dir/secret.txt")
    denied(roots, "link_out_dir/missing.txt")
    assert roots.resolve("link_in") == tree["root"] / "exp" / "a.nd2"


def test_missing_file_inside_a_root(tree) -> None:
    roots = DataRoots([tree["root"]])
    with pytest.raises(NotFound) as info:
        roots.resolve("exp/missing.nd2")
    assert info.value.code == FILE_NOT_FOUND
    assert (
        roots.resolve("exp/missing.nd2", must_exist=False) == tree["root"] / "exp" / "missing.nd2"
    )


def test_several_roots_and_a_symlinked_root(tree) -> None:
    alias = tree["tmp"] / "alias"
    alias.symlink_to(tree["root"])
    roots = DataRoots([alias, tree["tmp"] / "root2"])
    assert roots.roots == (tree["root"], tree["tmp"] / "root2")
    assert roots.resolve(alias / "exp" / "a.nd2") == tree["root"] / "exp" / "a.nd2"
    assert roots.resolve(tree["tmp"] / "root2" / "b.nd2") == tree["tmp"] / "root2" / "b.nd2"
    assert roots.contains(alias / "exp") and not roots.contains(tree["outside"])


def test_malformed_paths(tree) -> None:
    with pytest.raises(InvalidArgument):
        DataRoots([tree["root"]]).resolve("exp/\0a.nd2")


def test_roots_must_exist(tree) -> None:
    with pytest.raises(ValueError):
        DataRoots([])
    with pytest.raises(ValueError):
        DataRoots([tree["tmp"] / "nope"])
