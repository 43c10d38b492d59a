App({
  onLaunch() {
    // wx.getLocation is only mentioned in this comment
    const cfg = wx.getExtConfigSync ? wx.getExtConfigSync() : {}
    this.globalData = { cfg }
  }
})
