"""The story matcher's word lists, our own: aliases, words that are not names, names too
common to tell two stories apart, and concepts spelt alike in English and Chinese."""

from __future__ import annotations

__all__ = ["ALIASES", "COMMON_NAMES", "CONCEPTS", "STOP_WORDS"]

# Chinese names of companies, products and people -> the Latin spelling the English press
# uses (lowercased), so an English and a Chinese report share the entity.
ALIASES: dict[str, str] = {
    "英伟达": "nvidia",
    "辉达": "nvidia",
    "奥特曼": "altman",
    "阿尔特曼": "altman",
    "深度求索": "deepseek",
    "谷歌": "google",
    "微软": "microsoft",
    "苹果": "apple",
    "字节跳动": "bytedance",
    "字节": "bytedance",
    "阿里巴巴": "alibaba",
    "阿里": "alibaba",
    "通义千问": "qwen",
    "千问": "qwen",
    "智谱": "zhipu",
    "月之暗面": "moonshot",
    "马斯克": "musk",
    "扎克伯格": "zuckerberg",
    "小扎": "zuckerberg",
    "黄仁勋": "huang",
    "亚马逊": "amazon",
    "特斯拉": "tesla",
    "腾讯": "tencent",
    "百度": "baidu",
    "华为": "huawei",
    "小米": "xiaomi",
    "三星": "samsung",
    "英特尔": "intel",
    "台积电": "tsmc",
    "高通": "qualcomm",
    "甲骨文": "oracle",
    "脸书": "facebook",
    "推特": "twitter",
    "豆包": "doubao",
    "文心一言": "ernie",
    "混元": "hunyuan",
    "可灵": "kling",
    "纳德拉": "nadella",
    "皮查伊": "pichai",
    "劈柴": "pichai",
    "哈萨比斯": "hassabis",
    "苏茨克维": "sutskever",
    "伊利亚": "sutskever",
    "库克": "cook",
    "贝索斯": "bezos",
    "杨立昆": "lecun",
    "李飞飞": "fei-fei",
    "梁文锋": "liang",
    "杨植麟": "yang",
    "英国": "uk",
    "欧盟": "eu",
    "美国": "us",
    "哈佛": "harvard",
    "斯坦福": "stanford",
    "诺贝尔": "nobel",
    "自然": "nature",
}


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Latin words that are not names even when capitalised (title case, sentence starts).
STOP_WORDS = _words(
    """
    a an the and or but of in on at to for from by with without into onto over under about
    after before as is are was were be been being it its this that these those there here
    how why what when where who whom which while will would can could should may might must
    not no new now just more most less very too also than then so if up down out off all any
    some every each your you we our us they their them he she his her i me my one two three
    first last next report reports says said say announces announced launches launched
    launch releases released release unveils unveiled introduces introducing introduced gets
    get got has have had do does did make makes made why here's it's can't won't don't week
    today day days year years month months ai app apps model models tech inc co ltd news
    update updates via vs video live best top big deal hands review monday tuesday wednesday
    thursday friday saturday sunday january february march april june july august september
    october november december
    """
)

# Names in nearly every AI report: shared alone they say little; and tech acronyms and
# tiers a Chinese report writes in Latin (IDE, SDK, GPU, Pro): words, not names.
COMMON_NAMES = _words(
    """
    openai google microsoft meta apple amazon nvidia anthropic chatgpt gemini claude xai
    deepseek ai llm gpt us uk eu china chinese ceo api app iphone android x bytedance
    alibaba tencent baidu huawei samsung tesla musk altman github youtube windows aws cloud
    agent agents
    ide sdk cpu gpu gpus ui pdf ppt bug cto cfo vc pro mini max plus beta web
    """
)

# General tech and business vocabulary in English and Chinese, one concept a line (an
# indented line goes on with the one above): an English and a Chinese report of one event
# share few names but often say the same things (a funding round, an acquisition, a
# lawsuit). Counted as one pair feature, never a key. No Latin acronyms (GPU, IPO): a
# Chinese report writes them as they are, so they are names. English spellings of two words
# ("open source", "open-source") match two consecutive words.
_CONCEPT_LINES = """
funding fund funds raise raises raised raising investment invests invested investors backed
    融资 募资 投资 领投 注资
acquire acquires acquired acquiring acquisition acquisitions buys bought buyout merger merge
    收购 并购 买下 合并
open-source open-sourced opensource open-weight open-weights 开源
chip chips chipmaker semiconductor semiconductors processor processors accelerator
    accelerators 芯片 半导体 显卡 处理器 加速器
model models 模型 大模型
agent agents agentic 智能体 代理
launch launches launched unveil unveils unveiled introduces introduced debut debuts debuted
    rolls rollout release releases released ships shipped 发布 推出 上线 亮相 首发 问世 来袭
robot robots robotic robotics humanoid humanoids 机器人 人形
price-cut price-cuts cheaper discount discounts slashes 降价 打折 优惠
price prices priced pricing cost costs 价格 定价 售价 费用
glasses eyewear spectacles 眼镜
browser browsers 浏览器
video videos footage 视频 直播
search searches 搜索 检索
lawsuit lawsuits sue sues sued suing litigation plaintiffs 诉讼 起诉 官司
court courts judge judges ruling ruled 法院 法官 裁定 判决
listing 上市
valuation valuations valued unicorn 估值 独角兽
layoff layoffs lay-off lay-offs laid-off firings fired 裁员 解雇
image images picture pictures 图像 图片 生图
voice voices speech audio 语音 声音 音频
music song songs musician musicians 音乐 歌曲
phone phones smartphone smartphones 手机
car cars vehicle vehicles automaker automakers 汽车 电动车 车型 车企
self-driving autonomous robotaxi robotaxis driverless 自动驾驶 无人驾驶 智驾 无人车
datacenter datacenters data-center data-centers 数据中心 算力中心 智算中心
compute computing 算力
reasoning reason inference thinking 推理 思考
coding code coder programming programmers 编程 代码 程序员
developer developers devs 开发者
safety safe unsafe 安全
security hack hacked hackers breach vulnerability vulnerabilities exploit 漏洞 黑客 攻击
privacy private 隐私
regulation regulations regulator regulators regulatory 监管 法规
law laws bill bills legislation 法案 法律 立法
ban bans banned banning block blocks blocked blocking 禁止 封禁 禁令 禁用 屏蔽
export exports 出口
tariff tariffs 关税
government governments administration federal 政府 联邦
military defense army 军方 国防 军事
copyright copyrighted fair-use infringement 版权 侵权
book books authors author 书籍 图书 作者 作家
education students student school schools teachers university 学生 教育 学校 教师 大学
health medical healthcare doctor doctors patients hospital 医疗 健康 医生 患者 医院
drug drugs pharma 药物 新药 制药
weather forecast forecasts forecasting 天气 预报 气象
science scientific scientists research researchers study 科学 研究 研究人员 科学家
math mathematics mathematical olympiad 数学 奥数
benchmark benchmarks leaderboard 基准 评测 跑分 榜单 屠榜
subscription subscriptions subscribers subscribe monthly 订阅 会员 月费 年费
free 免费
users user 用户 周活 月活 日活
revenue revenues sales earnings 营收 收入 销售 销量 财报
profit profits profitable 利润 盈利
loss losses 亏损
stock stocks shares market-cap 股价 股票 市值
startup startups 初创 创业公司
chief executive 首席执行官 总裁
founder founders cofounder co-founder 创始人 联合创始人
hire hires hired hiring poach poached poaching recruits recruiting talent 挖角 招聘 人才 挖人 加盟
resign resigns resigned resignation departs departure leaves exits quits steps 离职 辞职 卸任 出走
    辞去
board 董事会 董事
partnership partnerships partners partner collaboration 合作 携手
contract contracts 合同 订单
energy power electricity nuclear grid 能源 电力 核电 电网
gas turbine turbines generators 燃气 天然气 发电机
space satellite satellites rocket rockets orbit 太空 卫星 火箭 航天
quantum qubit qubits 量子
game games gaming gamers 游戏 玩家
smartwatch smartwatches 手表
headset headsets 头显 头戴
laptop laptops desktop desktops computer computers 电脑 笔记本 台式机
tablet tablets 平板
earbuds headphones 耳机
camera cameras 相机 摄像头
translation translate translates translator 翻译
assistant assistants chatbot chatbots 助手 聊天机器人
memory 记忆 内存
social 社交
ad ads advertising adtech advertisers 广告
antitrust monopoly monopolies monopolized 垄断 反垄断
fine fined fines penalty 罚款 罚单
investigation investigating probe probes 调查
deepfake deepfakes 深度伪造 深伪
companion companions girlfriend girlfriends waifu waifus 伴侣 陪伴 女友
anime 二次元 动漫
verification verify 验证
era age 时代
teen teens teenagers children kids minors 青少年 儿童 未成年
shopping commerce e-commerce ecommerce checkout retail 购物 电商 零售
payment payments pay paid 支付 付费
crawler crawlers scraping scrape scrapers 爬虫 抓取
training train trained 训练
dataset datasets 数据集
drone drones 无人机
pollution emissions 污染 排放
permit permits 许可
email emails inbox 邮件 邮箱
photo photos 照片 相册
map maps 地图
film films movie movies 电影
tool tools 工具
outage outages crash crashed downtime 宕机 故障 崩溃 崩盘 瘫痪
retire retires retiring retired phase-out discontinue discontinued sunset replace replaces
    replaced 退役 停用 下线 关停 取代 替代 永别
weights 权重
segment segmentation 分割
"""


def _concepts(lines: str) -> tuple[tuple[str, ...], ...]:
    concepts: list[list[str]] = []
    for line in lines.strip("\n").splitlines():
        if line.startswith(" "):
            concepts[-1].extend(line.split())
        else:
            concepts.append(line.split())
    return tuple(tuple(words) for words in concepts)


CONCEPTS = _concepts(_CONCEPT_LINES)
