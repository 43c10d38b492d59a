const app = getApp()
Page({
  data: { shopName: app.globalData.shopName },
  onShareAppMessage() { return { title: this.data.shopName } }
})
