"""The forms of posts: writing one (or a reply), editing it, deleting it."""

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_ngettext as _ln
from flask_wtf import FlaskForm
from wtforms import IntegerField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange
from wtforms.widgets import HiddenInput

MAX_POST_LENGTH = 140
# A version as the database stores it (SQL INTEGER): a bigger number never reaches it.
MAX_VERSION = 2**31 - 1


def counter_attributes() -> dict[str, object]:
    """What static/post-counter.js needs: the hint it writes in, and its words.

    The words in the reader's language, for one character and for more ("{n}" the
    count): the script picks one with the page language's plural rules.
    """
    return {
        "data-counter": "body-help",
        "data-left-one": _ln(
            "%(count)s character left", "%(count)s characters left", 1, count="{n}"
        ),
        "data-left-other": _ln(
            "%(count)s character left", "%(count)s characters left", 2, count="{n}"
        ),
    }


def body_field(label: str) -> TextAreaField:
    return TextAreaField(
        label,
        validators=[DataRequired(), Length(min=1, max=MAX_POST_LENGTH)],
        description=_l("At most %(count)s characters.", count=MAX_POST_LENGTH),
        # static/post-counter.js counts down in the hint while the post is written.
        render_kw=counter_attributes(),
    )


class PostForm(FlaskForm):
    body = body_field(_l("Say something"))
    submit = SubmitField(_l("Submit"))


class ReplyForm(FlaskForm):
    body = body_field(_l("Your reply"))
    submit = SubmitField(_l("Reply"))


class VersionedForm(FlaskForm):
    """A form about a post as it was when the page was opened (see ``Post.edit``)."""

    version = IntegerField(
        widget=HiddenInput(), validators=[InputRequired(), NumberRange(min=1, max=MAX_VERSION)]
    )

    def version_was_forged(self) -> bool:
        """Whether the hidden version is missing or no version at all: no page sends that."""
        return bool(self.version.errors)


class EditPostForm(VersionedForm):
    body = body_field(_l("Your post"))
    submit = SubmitField(_l("Save"))


class DeletePostForm(VersionedForm):
    submit = SubmitField(_l("Delete"))
