"""Programme 10: publish 100+ legal-education videos (普法视频).

Short videos for the whole population: explaining points of law, analysing hot topics and
typical cases (以案释法、以案普法). One task of type ``publish_video`` reports one published
video: its title, what kind of content it is, its legal topic, the platform and link, the
publication date and its views.

What it counts: ``videos_published`` is the number of distinct links of done tasks — the
link identifies one published video, so a video reported twice counts once.

A complete programme plugin in one file: it uses only the public hooks, exactly as a
package installed from elsewhere would (see docs/plugins.md).
"""
from wtforms import Form, IntegerField, SelectChoice, SelectField, URLField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional

from core import Metric, Program, TaskType, hookimpl
from core.formkit import parsed, past_date, recent_date, strip, text

PLATFORMS = [SelectChoice("douyin", "抖音"), SelectChoice("wechat_channels", "微信视频号"),
             SelectChoice("kuaishou", "快手"), SelectChoice("bilibili", "哔哩哔哩"),
             SelectChoice("other", "其他")]
# The plan's three kinds of content: points of law, hot topics, typical cases.
KINDS = [SelectChoice("legal_point", "法律知识点解读"), SelectChoice("hot_topic", "社会热点解读"),
         SelectChoice("typical_case", "典型案例剖析")]


class VideoForm(Form):
    title = text("视频标题", DataRequired("请填写视频标题"))
    kind = SelectField("内容类型", choices=KINDS,
                       invalid_choice_message="请选择内容类型：法律知识点、社会热点或典型案例")
    legal_topic = text("法律主题", DataRequired("请填写法律主题，如：民法典·婚姻家庭"))
    platform = SelectField("发布平台", choices=PLATFORMS,
                           invalid_choice_message="请从列表中选择发布平台")
    link = URLField("链接", filters=[strip], validators=[
        DataRequired("请填写视频链接"),
        URL(message="链接应为完整网址，如 https://v.douyin.com/abc123/"),
        Length(max=255, message="链接不超过255个字符")])
    published_on = past_date("发布日期", future="发布日期不能晚于今天：请在视频发布后填写")
    views = IntegerField("播放量", validators=[
        Optional(), parsed, NumberRange(min=0, message="播放量不能为负数")],
        invalid_value_message="播放量应为整数")


TOPICS = [  # (title, kind, legal topic)
    ("彩礼能不能要回来？", "legal_point", "民法典·婚姻家庭"),
    ("老人被“保健品”骗了钱怎么办", "typical_case", "防范养老诈骗"),
    ("外嫁女的土地补偿款该不该分", "hot_topic", "农村集体经济组织成员权益"),
    ("高空抛物，谁来担责", "legal_point", "民法典·侵权责任"),
    ("农民工讨薪的正确打开方式", "typical_case", "保障农民工工资支付条例"),
    ("电动车不戴头盔会被罚吗", "hot_topic", "道路交通安全法"),
    ("遗嘱怎么写才有效", "legal_point", "民法典·继承"),
    ("孩子沉迷网络游戏，家长能做什么", "hot_topic", "未成年人保护法"),
    ("宅基地能不能卖给城里人", "legal_point", "土地管理法"),
    ("邻居装摄像头对着我家门口，合法吗", "typical_case", "民法典·人格权"),
    ("借钱不还，打官司要准备哪些证据", "legal_point", "民间借贷"),
    ("遭遇家暴，如何申请人身安全保护令", "typical_case", "反家庭暴力法"),
]
LINKS = {"douyin": "https://v.douyin.com/{code}/",
         "wechat_channels": "https://channels.weixin.qq.com/finder/{code}",
         "kuaishou": "https://v.kuaishou.com/{code}",
         "bilibili": "https://www.bilibili.com/video/BV{code}",
         "other": "https://www.example.gov.cn/pfsp/{code}.html"}


def example(rng) -> dict:
    """A video published in the last half year, with a platform-shaped link."""
    title, kind, topic = rng.choice(TOPICS)
    platform = rng.choice([choice.value for choice in PLATFORMS])
    code = "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghjkmnpqrstuvwxyz23456789")
                   for _ in range(10))
    return {"title": title, "kind": kind, "legal_topic": topic, "platform": platform,
            "link": LINKS[platform].format(code=code),
            "published_on": recent_date(rng, 180),
            "views": int(rng.lognormvariate(7, 1.2))}


@hookimpl
def register_programs(register):
    register(Program(slug="publicity_videos", name="发布100+普法视频",
                     name_en="Publish 100+ legal-education videos",
                     description="围绕法律知识点、热点问题、典型案例制作发布普法短视频。",
                     order=10))


@hookimpl
def register_task_types(register):
    # A published video is public: so is every field of its report.
    register(TaskType(slug="publish_video", program="publicity_videos", name="发布普法视频",
                      duty="publicity",
                      form=VideoForm, subject_field="link",
                      public_fields=("title", "kind", "legal_topic", "platform", "link",
                                     "published_on", "views"), example=example))


@hookimpl
def register_metrics(register):
    register(Metric(slug="videos_published", program="publicity_videos", name="已发布视频",
                    task_types=("publish_video",), distinct_field="link"))
