"""Platform order files: the order exports of Taobao/Tmall, JD, Douyin, Pinduoduo and Youzan
shops — Chinese headers, GBK or UTF-8, CSV or XLSX — mapped to the ingestion API's orders
(``formats`` says how each platform's columns and status words map), previewed before import,
and imported through the pool's order ingestion with a reject file of the rows left out."""
