"""Programme 10, legal-education videos: the video form, its examples and the count of
distinct videos (by link)."""
import datetime as dt

import pytest

from core.clock import today
from core.plugins import get_registry
from core.testing import (assert_examples_valid, assert_ledger, assign_and_complete, date_cell,
                          done, form_errors, installed_only)
from plugins.publicity_videos import VideoForm


@pytest.fixture(autouse=True)
def _only_this_programme():
    with installed_only("publicity_videos"):
        yield


DAY = dt.timedelta(days=1)


def video(**changes) -> dict:
    data = {"title": "彩礼能不能要回来？", "kind": "legal_point", "legal_topic": "民法典·婚姻家庭",
            "platform": "douyin", "link": "https://v.douyin.com/iRNBho6u/",
            "published_on": (today() - 2 * DAY).isoformat(), "views": "1532"}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def test_a_complete_video_is_valid_and_views_are_optional():
    assert form_errors(VideoForm, video()) == {}
    assert form_errors(VideoForm, video(views="")) == {}


def test_an_empty_report_names_every_missing_field():
    assert form_errors(VideoForm, {}) == {
        "title": ["请填写视频标题"], "kind": ["请选择内容类型：法律知识点、社会热点或典型案例"],
        "legal_topic": ["请填写法律主题，如：民法典·婚姻家庭"], "platform": ["请从列表中选择发布平台"],
        "link": ["请填写视频链接"], "published_on": ["请填写发布日期"]}


def test_the_link_is_a_full_web_address():
    assert form_errors(VideoForm, video(link="v.douyin.com/abc")) == \
        {"link": ["链接应为完整网址，如 https://v.douyin.com/abc123/"]}


def test_views_are_a_whole_number_not_below_zero():
    assert form_errors(VideoForm, video(views="-1")) == {"views": ["播放量不能为负数"]}
    assert form_errors(VideoForm, video(views="1.5万")) == {"views": ["播放量应为整数"]}


def test_a_video_is_reported_once_published():
    tomorrow = (today() + DAY).isoformat()
    assert form_errors(VideoForm, video(published_on=tomorrow)) == \
        {"published_on": ["发布日期不能晚于今天：请在视频发布后填写"]}


def test_platform_and_kind_come_from_the_lists():
    assert form_errors(VideoForm, video(platform="myspace", kind="gossip")) == {
        "platform": ["请从列表中选择发布平台"],
        "kind": ["请选择内容类型：法律知识点、社会热点或典型案例"]}


def test_examples_are_valid_and_varied():
    datas = assert_examples_valid("publish_video")
    assert len({d["link"] for d in datas}) == len(datas)
    assert len({d["platform"] for d in datas}) > 2


def test_programme_ten_counts_distinct_links():
    registry = get_registry()
    program = registry.programs["publicity_videos"]
    assert (program.name, program.order) == ("发布100+普法视频", 10)
    assert registry.task_types["publish_video"].subject_field == "link"
    assert registry.metrics["videos_published"].distinct_field == "link"


def test_a_video_reported_twice_counts_once(district):
    coordinator, lawyer = district.users.coordinator, district.users.lawyer
    village = district.villages[0]
    for data in (video(), video(views="4000"), video(link="https://v.kuaishou.com/2xYzab")):
        assign_and_complete(coordinator, lawyer, program="publicity_videos",
                            task_type="publish_video", village=village, data=data)
    assert done("videos_published") == 2


def test_the_ledger_lists_each_video_under_the_forms_labels(district):
    coordinator, lawyer = district.users.coordinator, district.users.lawyer
    videos = [video(), video(title="遭遇家暴，如何申请人身安全保护令", kind="typical_case",
                             legal_topic="反家庭暴力法", platform="wechat_channels",
                             link="https://channels.weixin.qq.com/finder/AbC123",
                             published_on=(today() - 20 * DAY).isoformat(), views="")]
    for data in videos:
        assign_and_complete(coordinator, lawyer, program="publicity_videos",
                            task_type="publish_video", village=district.villages[0], data=data)
    place = ["东湖1村", "东湖镇", "张明"]
    assert_ledger("publicity_videos", "发布普法视频",
                  ["视频标题", "内容类型", "法律主题", "发布平台", "链接", "发布日期", "播放量"], [
                      ["彩礼能不能要回来？", "法律知识点解读", "民法典·婚姻家庭", "抖音",
                       "https://v.douyin.com/iRNBho6u/", date_cell(today() - 2 * DAY), 1532,
                       *place],
                      ["遭遇家暴，如何申请人身安全保护令", "典型案例剖析", "反家庭暴力法", "微信视频号",
                       "https://channels.weixin.qq.com/finder/AbC123",
                       date_cell(today() - 20 * DAY), None, *place]],  # views not given
                  user=coordinator)
