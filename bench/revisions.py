"""Another revision of the project, checked out beside the working tree for the benchmark."""

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from alembic.script import ScriptDirectory

ROOT = Path(__file__).resolve().parent.parent


def git(*arguments: str, cwd: Path = ROOT) -> str:
    """Run git in ``cwd``; its output, stripped; SystemExit with git's words if it fails."""
    done = subprocess.run(  # noqa: S603 - git with our arguments
        ["git", *arguments],  # noqa: S607 - git from PATH, as a developer runs it
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"git {' '.join(arguments)} failed:\n{done.stderr.strip()}")
    return done.stdout.strip()


def describe(revision: str) -> str:
    """``revision`` as its short hash and subject, for the report."""
    return git("log", "-1", "--format=%h (%s)", revision)


def working_tree_description() -> str:
    """The working tree's commit, and whether it has changes on top of it."""
    changed = git("status", "--porcelain", "--untracked-files=no")
    return f"working tree at {describe('HEAD')}" + (
        ", with uncommitted changes" if changed else ""
    )


@contextlib.contextmanager
def checked_out(revision: str) -> Iterator[Path]:
    """``revision`` in a temporary ``git worktree``, removed when the block ends, however."""
    try:
        commit = git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{revision}^{{commit}}"
        )
    except SystemExit:
        raise SystemExit(f"{revision!r} names no commit of this repository") from None
    folder = Path(tempfile.mkdtemp(prefix="microblog-bench-before-"))
    tree = folder / "tree"
    try:
        git("worktree", "add", "--detach", str(tree), commit)
        yield tree
    finally:
        # Also on Ctrl-C: a worktree left behind would stay listed in .git/worktrees.
        with contextlib.suppress(SystemExit):
            git("worktree", "remove", "--force", str(tree))
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(SystemExit):
            git("worktree", "prune")


def migrations_heads(tree: Path) -> set[str]:
    """The Alembic heads of a tree's migrations: the schema its app expects."""
    return set(ScriptDirectory(str(tree / "migrations")).get_heads())


def require_same_schema(before: Path, revision: str) -> None:
    """Both apps will share one database, built by the working tree's migrations."""
    theirs, ours = migrations_heads(before), migrations_heads(ROOT)
    if theirs != ours:
        raise SystemExit(
            f"{revision}'s migrations end at {', '.join(sorted(theirs))}, the working tree's "
            f"at {', '.join(sorted(ours))}: the two apps expect different schemas, so they "
            "cannot be measured on one database"
        )
