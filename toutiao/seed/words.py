"""Channel vocabularies for the demo data, written for this project.

Each channel is a ``Topic``: its terms fill the title and sentence templates, and its
``phrases`` are distinctive multi-word phrases that recur in several titles, so search has
something to rank. ``weight`` makes the channels uneven, as on a real site.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topic:
    name: str
    weight: int
    kind: str  # "tech" or "news": which templates fit
    terms: tuple[str, ...]
    phrases: tuple[str, ...]
    code: str | None = None  # language of the <pre><code> snippets, if any
    default: bool = False


def _t(text: str) -> tuple[str, ...]:
    return tuple(text.split("|"))


TOPICS: tuple[Topic, ...] = (
    Topic(
        "开发者资讯",
        8,
        "tech",
        _t(
            "开源社区|GitHub|编程语言排行榜|开发者大会|技术招聘|远程办公|开源许可证|代码托管|程序员薪资|技术债务|开发者调查|IDE 插件"
        ),
        _t("开源大模型生态|开发者效率工具|年度开发者调查报告|开源供应链安全"),
        default=True,
    ),
    Topic(
        "html",
        2,
        "tech",
        _t(
            "HTML5|语义化标签|Canvas|Web Components|表单验证|无障碍访问|SVG|meta 标签|iframe|拖放 API|本地存储|视频标签"
        ),
        _t("语义化 HTML 结构|Web Components 组件化|Canvas 动画绘制"),
        code="html",
    ),
    Topic(
        "c++",
        4,
        "tech",
        _t(
            "C++20|模板元编程|智能指针|移动语义|STL 容器|协程|RAII|多线程|内存模型|CMake|编译期计算|虚函数"
        ),
        _t("现代 C++ 内存管理|C++ 协程实战|模板元编程技巧"),
        code="cpp",
    ),
    Topic(
        "css",
        3,
        "tech",
        _t(
            "Flex 布局|Grid 布局|CSS 变量|动画|响应式设计|BEM|Tailwind|层叠上下文|伪元素|容器查询|选择器|过渡效果"
        ),
        _t("CSS Grid 布局实战|响应式布局方案|CSS 动画性能优化"),
        code="css",
    ),
    Topic(
        "数据库",
        7,
        "tech",
        _t(
            "MySQL|索引|事务隔离级别|Redis|慢查询|分库分表|主从复制|PostgreSQL|执行计划|InnoDB|死锁|连接池"
        ),
        _t("MySQL 索引优化|Redis 缓存穿透|分库分表方案|慢查询排查思路"),
        code="sql",
        default=True,
    ),
    Topic(
        "区块链",
        2,
        "tech",
        _t(
            "智能合约|以太坊|共识算法|去中心化应用|钱包|零知识证明|跨链|Solidity|默克尔树|侧链|数字签名|Layer2"
        ),
        _t("智能合约安全审计|零知识证明原理|Layer2 扩容方案"),
        code="javascript",
    ),
    Topic(
        "go",
        5,
        "tech",
        _t("goroutine|channel|Go 泛型|gRPC|context|sync 包|GC|Gin|接口|逃逸分析|pprof|Go Modules"),
        _t("Go 泛型编程|goroutine 泄漏排查|Go 内存逃逸分析|Go 微服务框架"),
        code="go",
    ),
    Topic(
        "产品",
        3,
        "tech",
        _t(
            "用户增长|需求分析|产品经理|A/B 测试|用户画像|MVP|数据驱动|竞品分析|留存率|用户体验|PRD|商业模式"
        ),
        _t("用户增长方法论|产品经理成长路线|数据驱动决策"),
    ),
    Topic(
        "后端",
        7,
        "tech",
        _t(
            "微服务|消息队列|分布式锁|缓存|RESTful API|限流|熔断|服务发现|幂等性|Kafka|RabbitMQ|接口设计"
        ),
        _t("分布式事务解决方案|高并发系统设计|微服务拆分实践|接口幂等性设计"),
        code="java",
        default=True,
    ),
    Topic(
        "linux",
        4,
        "tech",
        _t(
            "Shell 脚本|systemd|内核参数|文件系统|iptables|进程管理|cgroups|SSH|Vim|日志分析|性能调优|eBPF"
        ),
        _t("Linux 性能调优|Shell 脚本编程|eBPF 可观测性"),
        code="bash",
    ),
    Topic(
        "人工智能",
        12,
        "tech",
        _t(
            "大模型|深度学习|Transformer|神经网络|强化学习|计算机视觉|自然语言处理|提示词工程|向量数据库|模型微调|推理加速|多模态"
        ),
        _t("大模型推理优化|检索增强生成|提示词工程技巧|多模态大模型应用|AI 编程助手"),
        code="python",
        default=True,
    ),
    Topic(
        "php",
        2,
        "tech",
        _t(
            "Laravel|Composer|PHP 8|Swoole|OPcache|命名空间|FPM|ThinkPHP|JIT|PSR 规范|类型声明|Symfony"
        ),
        _t("Laravel 最佳实践|PHP 8 新特性|Swoole 协程服务器"),
        code="php",
    ),
    Topic(
        "javascript",
        7,
        "tech",
        _t(
            "闭包|Promise|async/await|原型链|事件循环|ES2025|TypeScript|Node.js|模块化|防抖节流|正则表达式|V8 引擎"
        ),
        _t("JavaScript 事件循环|TypeScript 类型体操|Node.js 性能优化|Promise 并发控制"),
        code="javascript",
    ),
    Topic(
        "架构",
        6,
        "tech",
        _t(
            "领域驱动设计|云原生|服务网格|容器化|高可用|容灾|架构演进|中台|可观测性|负载均衡|CQRS|事件驱动"
        ),
        _t("云原生可观测性|领域驱动设计落地|高可用架构设计|服务网格实践"),
        code="go",
        default=True,
    ),
    Topic(
        "前端",
        9,
        "tech",
        _t("Vue 3|React|Vite|小程序|Webpack|状态管理|组件库|虚拟 DOM|SSR|微前端|性能监控|Hooks"),
        _t("Vue 3 组合式 API|React Hooks 原理|前端性能优化|微前端架构方案"),
        code="javascript",
        default=True,
    ),
    Topic(
        "python",
        10,
        "tech",
        _t(
            "Python 3.13|asyncio|装饰器|生成器|类型注解|FastAPI|Django|pandas|爬虫|虚拟环境|GIL|数据分析"
        ),
        _t("Python 异步编程|FastAPI 依赖注入|类型注解实战|GIL 移除进展|pandas 数据清洗"),
        code="python",
        default=True,
    ),
    Topic(
        "java",
        7,
        "tech",
        _t(
            "Spring Boot|JVM|垃圾回收|并发包|虚拟线程|MyBatis|Spring Cloud|类加载|Stream API|JIT 编译|线程池|注解"
        ),
        _t("JVM 调优实战|Spring Boot 自动配置|Java 虚拟线程|线程池参数设置"),
        code="java",
    ),
    Topic(
        "算法",
        5,
        "tech",
        _t(
            "动态规划|二叉树|图论|贪心算法|排序算法|哈希表|回溯|滑动窗口|并查集|最短路径|位运算|LeetCode"
        ),
        _t("动态规划解题套路|二叉树遍历方法|滑动窗口技巧"),
        code="python",
    ),
    Topic(
        "面试",
        5,
        "tech",
        _t("面试题|简历|八股文|算法题|系统设计|薪资谈判|校招|社招|技术面|HR 面|offer|项目经历"),
        _t("大厂面试经验|系统设计面试|校招求职攻略"),
        code="java",
    ),
    Topic(
        "科技动态",
        9,
        "news",
        _t(
            "芯片|智能手机|折叠屏|卫星互联网|量子计算|新品发布会|操作系统|可穿戴设备|5G|自动驾驶|机器人|云服务"
        ),
        _t("国产芯片突破|人形机器人量产|量子计算新进展|折叠屏手机评测"),
        default=True,
    ),
    Topic(
        "运维",
        5,
        "tech",
        _t(
            "Kubernetes|Docker|Prometheus|CI/CD|Ansible|日志收集|灰度发布|监控告警|Nginx|容器编排|SRE|故障演练"
        ),
        _t("Kubernetes 集群运维|Prometheus 监控告警|CI/CD 流水线搭建|灰度发布策略"),
        code="bash",
    ),
    Topic(
        "设计",
        2,
        "tech",
        _t("配色|字体|交互设计|设计系统|Figma|图标|动效|栅格|用户研究|原型|视觉规范|暗黑模式"),
        _t("设计系统搭建|交互设计原则|暗黑模式适配"),
    ),
    Topic(
        "移动开发",
        5,
        "tech",
        _t(
            "Android|iOS|Flutter|Kotlin|Swift|鸿蒙|React Native|跨平台|启动优化|包体积|热修复|Jetpack Compose"
        ),
        _t("Flutter 跨平台开发|鸿蒙应用开发|App 启动优化|Jetpack Compose 入门"),
        code="java",
    ),
    Topic(
        "财经",
        4,
        "news",
        _t(
            "A股|央行|降准|人民币汇率|新能源板块|消费复苏|上市公司财报|公募基金|债券市场|房地产|黄金价格|科创板"
        ),
        _t("央行降准释放流动性|新能源板块走强|消费复苏信号"),
    ),
    Topic(
        "体育",
        4,
        "news",
        _t(
            "中超|CBA|NBA 季后赛|欧冠|马拉松|乒乓球|国足|世界杯预选赛|羽毛球|游泳世锦赛|网球|全运会"
        ),
        _t("国足世界杯预选赛|城市马拉松热潮|乒乓球世界杯"),
    ),
    Topic(
        "娱乐",
        3,
        "news",
        _t(
            "电影票房|综艺节目|电视剧|演唱会|春节档|流媒体|短剧|音乐节|颁奖典礼|纪录片|动画电影|网络电影"
        ),
        _t("春节档电影票房|短剧市场爆发|国产动画电影崛起"),
    ),
    Topic(
        "汽车",
        4,
        "news",
        _t(
            "新能源汽车|智能驾驶|电池续航|SUV|充电桩|自主品牌|车企财报|固态电池|混动车型|汽车出口|换电模式|智能座舱"
        ),
        _t("固态电池量产进程|智能驾驶辅助系统|新能源汽车出口"),
    ),
)

TECH_ORGS = _t(
    "谷歌|微软|阿里巴巴|腾讯|字节跳动|华为|苹果|百度|京东|美团|小米|Mozilla|JetBrains|Linux 基金会|Apache 基金会|CNCF|Meta|亚马逊|网易|快手"
)
NEWS_SOURCES = _t("新华社|央视新闻|人民日报|经济日报|中国新闻网|澎湃新闻|第一财经|新京报")
CITIES = _t("北京|上海|广州|深圳|杭州|成都|武汉|南京|西安|重庆|苏州|长沙|厦门|青岛|天津|合肥")
