"""Programme 10: publish 100+ legal-education videos (普法视频).

A complete programme plugin in one file: it uses only the public hooks, exactly as a
package installed from elsewhere would (see docs/plugins.md).
"""
from wtforms import Form, IntegerField, SelectField, StringField, URLField
from wtforms.fields import DateField
from wtforms.validators import URL, DataRequired, NumberRange, Optional

from core import hookimpl
from core.registry import Metric, Program, TaskType

PLATFORMS = [("douyin", "抖音"), ("wechat_channels", "微信视频号"), ("kuaishou", "快手"),
             ("bilibili", "哔哩哔哩"), ("other", "其他")]


class VideoForm(Form):
    title = StringField("视频标题", validators=[DataRequired()])
    legal_topic = StringField("法律主题", validators=[DataRequired()])
    platform = SelectField("发布平台", choices=PLATFORMS, validators=[DataRequired()])
    link = URLField("链接", validators=[DataRequired(), URL()])
    published_on = DateField("发布日期", validators=[DataRequired()])
    views = IntegerField("播放量", validators=[Optional(), NumberRange(min=0)])


@hookimpl
def register_programs(register):
    register(Program(slug="publicity_videos", name="发布100+普法视频",
                     name_en="Publish 100+ legal-education videos",
                     description="围绕法律知识点、热点问题、典型案例制作发布普法短视频。",
                     order=10))


@hookimpl
def register_task_types(register):
    register(TaskType(slug="publish_video", program="publicity_videos", name="发布普法视频",
                      form=VideoForm, subject_field="link"))


@hookimpl
def register_metrics(register):
    register(Metric(slug="videos_published", program="publicity_videos", name="已发布视频",
                    task_types=("publish_video",), distinct_field="link"))
