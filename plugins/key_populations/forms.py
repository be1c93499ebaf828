"""Programme 3's form: a visit to a person of a key population."""
from wtforms import Form, SelectChoice, SelectField
from wtforms.validators import DataRequired

from core.formkit import text, text_area

PROGRAM = "key_populations"
CATEGORIES = [SelectChoice("migrant_worker", "农民工"), SelectChoice("extreme_poverty", "特困人员"),
              SelectChoice("elderly_alone", "孤寡（独居）老人"),
              SelectChoice("left_behind_child", "留守儿童"), SelectChoice("minor", "未成年人")]


class PersonVisitForm(Form):
    person = text("走访对象姓名", DataRequired("请填写走访对象姓名"), most=50, name="姓名")
    category = SelectField("人群类别", choices=CATEGORIES,
                           invalid_choice_message="请选择人群类别（农民工、特困人员、孤寡老人、"
                                                  "留守儿童或未成年人）")
    needs = text_area("需求与困难", DataRequired("请填写走访对象的需求与困难（没有请填“无”）"),
                      most=1000)
    publicity = text_area("开展的普法宣传", DataRequired("请填写走访时开展的普法宣传内容"),
                          most=1000, name="普法宣传内容")
