"""Templates and fragments the demo text is assembled from, written for this project.

Slots: ``{t}`` and ``{u}`` two terms of the channel, ``{p}`` one of its phrases, ``{o}`` an
organisation, ``{n}`` a small number, ``{pct}`` a percentage, ``{y}`` a year, ``{c}`` a city,
``{s}`` a news source. Spaces between Chinese and Latin text are added afterwards.
"""

from __future__ import annotations


def _lines(text: str) -> tuple[str, ...]:
    return tuple(line.strip() for line in text.strip().splitlines() if line.strip())


TECH_TITLES = _lines("""
    {t}入门指南：从零到一
    深入理解{t}的设计原理
    {n}个{t}实用技巧，让你的效率翻倍
    {o}发布{t}新版本，带来哪些变化？
    {p}：一次完整的线上实践
    为什么越来越多的团队选择{t}
    {t}与{u}对比：该如何选择
    {y}年{t}发展趋势展望
    一文读懂{p}
    {t}踩坑记录
    从{t}到{u}：我们的迁移之路
    {p}最佳实践总结
    面试官问我{t}，我这样回答
    聊聊{t}
    关于{t}的{n}个常见误区
    {o}工程师分享：{p}
    如何用{t}实现{u}
    {t}性能优化全攻略
    彻底搞懂{t}，看这一篇就够了
    {t}源码解析（{n}）
    新手必看：{t}常见问题汇总
    {p}背后的技术细节
    {t}正在改变{u}
    重磅！{o}宣布开源{p}相关工具
    周末读什么：{t}与{p}
    {p}入门教程
    图解{t}
    {p}，你真的用对了吗？
    我在{o}做{t}的这{n}年
    {t}面试高频题
    写给新人的{p}指南
    {t}的{n}种写法，你知道几种？
    万字长文：{p}的来龙去脉，以及我们踩过的{n}个坑
    {t}实战：从原理到落地，{n}个真实案例带你掌握{u}
    在{o}落地{p}一年后，我们总结了这{n}条经验
    当{t}遇上{u}：一次跨团队协作的技术复盘与思考
""")

NEWS_TITLES = _lines("""
    {t}迎来新变化，业内人士这样看
    {p}引发热议
    {c}{t}最新进展
    {t}：{n}个值得关注的信号
    一图看懂{t}
    {y}年{t}回顾与展望
    {t}持续升温，{u}成为关注焦点
    专家解读{p}
    {t}创下新纪录
    从{t}看{u}的未来走向
    {s}：{p}再获关注
    {c}多措并举推动{t}发展
    {p}，普通人该关注什么？
    {t}
    {t}和{u}，谁更值得期待
    本周{t}要闻速览
    {c}发布{t}新举措，{u}有望迎来新一轮发展机遇
    {y}年上半年{t}数据出炉：{u}表现亮眼，{p}仍是关键词
""")

TECH_SENTENCES = _lines("""
    {t}的核心思想其实并不复杂，关键在于理解它要解决的问题。
    在实际项目中，我们通常会把{t}和{u}结合起来使用。
    很多初学者在接触{t}时，最容易忽略的是边界条件的处理。
    根据{o}公布的数据，{t}的采用率在过去一年增长了{pct}%。
    如果你正在评估{p}，下面这些经验或许能帮你少走弯路。
    官方文档对{t}的描述相对简略，因此本文结合源码做一些补充。
    这一改动让{u}的性能提升了约{pct}%，同时也降低了维护成本。
    需要注意的是，{t}并不是银弹，它同样有自己的适用场景。
    我们在生产环境中遇到过一次与{t}相关的故障，排查过程颇为曲折。
    社区里关于{t}的讨论一直很热烈，支持者和反对者各有道理。
    从架构的角度看，{u}更适合承担这一层的职责。
    下面通过一个简单的例子来说明{t}的用法。
    测试结果显示，在{n}00个并发的场景下，{t}的表现依然稳定。
    团队最终决定引入{p}，并为此制定了详细的迁移计划。
    总的来说，掌握{t}需要理论与实践相结合。
    如果你对{u}还不熟悉，建议先阅读相关的入门资料。
    这也是{o}在内部大规模推广{t}的原因之一。
    对于中小团队而言，{t}的学习成本是一个必须考虑的因素。
    值得一提的是，新版本对{u}做了大量兼容性改进。
    读者在评论区提出了不少关于{t}的问题，这里统一做一个回答。
    与其死记硬背，不如动手写几个小例子，{t}的行为就一目了然了。
    上线之后，接口的平均响应时间从{n}0 毫秒降到了个位数。
    {p}并不只是一个口号，它要求团队在流程和工具上同时投入。
    最初我们低估了{u}的复杂度，结果返工了整整{n}周。
    这一部分的代码不多，但每一行都值得反复推敲。
    如果只记住一句话，那就是：先度量，再优化。
    {t}的设计取舍，在很大程度上决定了系统后续的演进方向。
    有经验的工程师会先画出数据流，再讨论{t}的具体实现。
""")

NEWS_SENTENCES = _lines("""
    据{s}报道，{t}近期出现了明显变化。
    业内人士分析认为，{u}将在未来一段时间内持续受到关注。
    数据显示，今年以来{t}相关指标同比增长{pct}%。
    {c}的不少市民表示，{p}给日常生活带来了新的体验。
    专家提醒，面对{t}，消费者应保持理性。
    截至目前，{u}的整体表现好于市场预期。
    多位分析师指出，{p}的影响可能比预想的更加深远。
    记者在现场看到，{t}吸引了大量观众和媒体。
    相关负责人表示，下一步将继续推进{u}相关工作。
    有观点认为，{t}的热度背后是长期积累的结果。
    在{c}，围绕{t}的讨论已经成为街头巷尾的话题。
    过去{n}年间，{u}经历了从起步到快速发展的过程。
    不过也有声音提醒，{t}仍面临不少不确定性。
    从目前的情况看，{p}的趋势仍将延续。
""")

TECH_HEADINGS = _lines("""
    背景
    {t}是什么
    核心原理
    实践步骤
    常见问题
    性能对比
    踩坑记录
    {u}的替代方案
    小结
    写在最后
    参考资料
""")

NEWS_HEADINGS = _lines("""
    事件回顾
    各方观点
    数据解读
    后续影响
    记者观察
    延伸阅读
""")

LIST_ITEMS = _lines("""
    明确{t}的使用边界
    为{u}补充监控和告警
    先在测试环境验证{p}
    记录每一次配置变更
    关注{o}的官方公告
    评估{t}对现有系统的影响
    定期回顾{u}的运行数据
    保持对{t}社区动态的关注
""")

CODE: dict[str, tuple[str, ...]] = {
    "python": (
        "import asyncio\n\nasync def fetch(n: int) -> int:\n    await asyncio.sleep(0.1)\n    return n * 2\n\nasync def main() -> None:\n    results = await asyncio.gather(*(fetch(i) for i in range(5)))\n    print(results)\n\nasyncio.run(main())",
        "def fib(n: int) -> int:\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a",
    ),
    "go": (
        'func worker(ctx context.Context, jobs <-chan int) {\n\tfor {\n\t\tselect {\n\t\tcase <-ctx.Done():\n\t\t\treturn\n\t\tcase j := <-jobs:\n\t\t\tfmt.Println("job", j)\n\t\t}\n\t}\n}',
        "func Map[T, U any](xs []T, f func(T) U) []U {\n\tout := make([]U, 0, len(xs))\n\tfor _, x := range xs {\n\t\tout = append(out, f(x))\n\t}\n\treturn out\n}",
    ),
    "javascript": (
        "const debounce = (fn, wait = 300) => {\n  let timer = null;\n  return (...args) => {\n    clearTimeout(timer);\n    timer = setTimeout(() => fn(...args), wait);\n  };\n};",
        "async function loadAll(urls) {\n  const results = await Promise.allSettled(urls.map((u) => fetch(u)));\n  return results.filter((r) => r.status === 'fulfilled');\n}",
    ),
    "java": (
        "ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();\nfor (int i = 0; i < 1000; i++) {\n    int id = i;\n    pool.submit(() -> handle(id));\n}\npool.shutdown();",
        '@RestController\npublic class HelloController {\n    @GetMapping("/hello")\n    public String hello() {\n        return "hello";\n    }\n}',
    ),
    "cpp": (
        "auto p = std::make_unique<Widget>(42);\nstd::vector<std::unique_ptr<Widget>> items;\nitems.push_back(std::move(p));",
        "template <typename T>\nconcept Addable = requires(T a, T b) { a + b; };\n\ntemplate <Addable T>\nT sum(T a, T b) { return a + b; }",
    ),
    "php": (
        "Route::get('/users/{id}', function (int $id) {\n    return User::findOrFail($id);\n});",
        "enum Status: string {\n    case Draft = 'draft';\n    case Published = 'published';\n}",
    ),
    "css": (
        ".grid {\n  display: grid;\n  grid-template-columns: repeat(auto-fill, minmax(200px, 1fr));\n  gap: 16px;\n}",
        ":root {\n  --primary: #3370ff;\n}\n.button {\n  color: var(--primary);\n  transition: transform .2s ease;\n}",
    ),
    "html": (
        "<article>\n  <header><h1>标题</h1></header>\n  <section>正文</section>\n  <footer>作者信息</footer>\n</article>",
        '<canvas id="stage" width="640" height="360"></canvas>\n<script>\n  const ctx = document.getElementById("stage").getContext("2d");\n</script>',
    ),
    "sql": (
        "EXPLAIN SELECT article_id, title\nFROM news_article_basic\nWHERE channel_id = 1 AND status = 2\nORDER BY pubdate DESC\nLIMIT 10;",
        "CREATE INDEX idx_user_status ON orders (user_id, status, created_at);",
    ),
    "bash": (
        "#!/usr/bin/env bash\nset -euo pipefail\nfor host in $(cat hosts.txt); do\n  ssh \"$host\" 'uptime'\ndone",
        "kubectl get pods -n prod -o wide\nkubectl rollout status deployment/api -n prod",
    ),
}

FAMILY_NAMES = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史陶黎贺顾毛郝龚邵万严武戴孔汤"
)
GIVEN_CHARS = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚英华玉兰萍红鹏辉玲丹晨宇浩然轩欣怡涵思远博文嘉雨泽鸣佑曦峰志俊雪梅婷琳凯航睿"
)
NICK_PREFIXES = _lines("""
    程序员
    码农
    前端
    后端
    全栈
    算法
    架构师
    产品
    运维
    数据
    爱读书的
    夜跑的
    会写代码的
""")
NICK_ADJECTIVES = ("快乐的", "安静的", "努力的", "早起的", "爱折腾的")
NICK_ANIMALS = ("考拉", "松鼠", "企鹅", "海豚", "猫头鹰", "小鹿", "熊猫", "狐狸")
HANDLES = ("coder", "dev", "geek", "hacker", "tech", "byte")
PINYIN = ("wang", "li", "zhang", "liu", "chen", "yang", "zhao", "huang", "zhou", "wu", "xu", "sun")

CERTIFICATES = _lines("""
    资深 Python 开发者
    前端技术博主
    互联网公司架构师
    科技领域优质创作者
    财经领域创作者
    数码评测达人
    开源项目维护者
    云原生布道师
    汽车媒体人
    体育评论员
    娱乐资讯创作者
    十年运维老兵
    人工智能研究员
    数据库内核工程师
""")

INTRODUCTIONS = _lines("""
    专注后端开发与分布式系统
    记录学习与成长的点滴
    热爱开源，热爱生活
    每天分享一个编程小技巧
    关注科技，关注未来
    用代码改变世界
    一个喜欢折腾的工程师
    读书、跑步、写代码
""")

CAREERS = _lines("""
    软件工程师
    产品经理
    设计师
    数据分析师
    运维工程师
    学生
    记者
""")

COMMENTS = _lines("""
    写得很清楚，收藏了
    {t}这块确实容易踩坑
    请问{t}在生产环境稳定吗？
    感谢分享，学到了
    有没有完整的示例代码？
    讲得很透彻，期待下一篇
    我们团队也在用{t}，体验不错
    不太同意第二点，{u}其实更合适
    mark 一下，周末细看
    这篇比官方文档好懂多了
    关于{p}，能再展开讲讲吗？
    终于有人把{t}讲明白了
    转给同事看看
    数据来源是哪里？
""")

REPLIES = _lines("""
    同感
    可以参考一下官方文档
    我也遇到过，升级版本就好了
    谢谢解答
    说得对
    具体要看业务场景
""")

ANNOUNCEMENTS = (
    (
        "欢迎来到头条",
        "<p>欢迎使用头条！这里汇集了技术、科技与生活资讯，登录后可以关注作者、收藏文章。</p>",
    ),
    (
        "社区公约更新说明",
        "<p>为营造友善的交流氛围，我们更新了社区公约，请文明评论，拒绝广告与人身攻击。</p>",
    ),
    ("春节期间服务安排", "<p>春节期间内容审核时间可能延长，感谢各位创作者的理解与支持。</p>"),
)
